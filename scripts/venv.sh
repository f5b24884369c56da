# Sourced by scripts/test.sh, bench.sh and difftest.sh: the reference tools
# (real Helm v4 in helm-python-sdk, real kubectl; see tests/requirements.txt)
# installed into .venv, from the requirements file given. Sets $venv.
# shellcheck shell=bash
reference_venv() {
    venv=.venv
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$1"
}
