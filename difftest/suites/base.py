"""What a suite is (the runner, run.py, drives it)."""
import json

import harness


class Suite:
    NAME = ""
    ABOUT = ""

    def generate(self, seed):
        """The case of this seed: JSON-serialisable, the same for the same seed."""
        raise NotImplementedError

    def run(self, case, work):
        """(Helm's answer, berth's answer); work is a scratch directory of the suite's."""
        raise NotImplementedError

    def compare(self, h, b):
        """None when the answers agree, else the kind of difference."""
        return harness.classify(h, b)

    def helm_again(self, case, work):
        """Helm's answer once more (Go's map order makes a few vary)."""
        return self.run(case, work)[0]

    def smaller(self, case):
        """Smaller variants of case, for the shrinker."""
        return iter(())

    def size(self, case):
        return len(json.dumps(case, default=str))

    def reproducer(self, case):
        """What a found case shows: {"files": {path: text} to write in the
        case's directory (a chart under chart/, values files), "args":
        `berth`'s arguments that show berth's side there}."""
        raise NotImplementedError
