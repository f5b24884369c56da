//! Template execution, a port of Go's `text/template/exec.go`.
//!
//! [`Templates`] is Go's set of associated templates (`template.Template`
//! with its common map); [`Engine`] is one rendering: the current set, the
//! `missingkey` option and the state Helm's `include`/`tpl` keep between
//! calls. The walk below mirrors Go's `state` methods one for one, including
//! where each error message points (`s.at(node)`), because those messages
//! are what Helm users see.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::GoError;
use crate::funcs::{self, Func, Sig, Ty};
use crate::gofmt;
use crate::parse::{
    self, Arg, At, Branch, Command, ListNode, Node, Number, ParseError, Pipe, Tree, Variable,
};
use crate::value::{ListType, Map, MapType, Object, Value};

/// Go's `maxExecDepth`.
const MAX_EXEC_DEPTH: usize = 100_000;

/// How deeply templates, includes and tpls may nest in total. Go's limits
/// (100000 per execution, Helm's 1000 includes per name) assume goroutine
/// stacks that grow; this keeps a fixed Rust stack safe.
const MAX_NESTING: usize = 20_000;

/// The stack execution keeps free: below this, nesting more (blocks,
/// templates, parenthesized pipelines, in any mix: each is bounded on its
/// own, their product is not) fails rather than overflow. Functions that
/// recurse on their input (YAML, regexes, parsing) move to a fresh stack
/// of their own when this one is in use (`crate::on_big_stack`), so
/// this only has to cover one level of the walk and a function call.
const STACK_RESERVE: usize = 4 << 20;

/// The most one execution of a template may write (Go would write until
/// memory runs out): as much as a function may build.
pub const MAX_OUTPUT: usize = funcs::MAX_RESULT as usize;

/// The error of a render stopped through [`Engine::cancel`].
pub const CANCELLED: &str = "rendering stopped: the operation was cancelled";

/// What a missing map key evaluates to (Go's `missingkey` option).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// `missingkey=default`: no value.
    #[default]
    Invalid,
    /// `missingkey=zero`: the zero value of the map's element type (Helm's default).
    Zero,
    /// `missingkey=error`: fail (Helm's `--strict`).
    Error,
}

/// A set of named templates sharing one namespace (Go's associated templates).
#[derive(Clone, Default)]
pub struct Templates {
    /// The name of the root template (Helm: `gotpl`), used in some errors.
    pub name: String,
    trees: HashMap<String, Rc<Tree>>,
}

impl Templates {
    pub fn new(name: &str) -> Templates {
        Templates {
            name: name.to_string(),
            trees: HashMap::new(),
        }
    }

    /// Go's `t.New(name).Parse(text)`: parses `text` as template `name` and
    /// adds it and its definitions to the set. A later definition replaces an
    /// earlier one, except that an empty body never replaces a non-empty one.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<Rc<Tree>, ParseError> {
        let trees = parse_cache::parse(name, text)?;
        let mut top = None;
        for tree in trees.iter() {
            if tree.name == name {
                top = Some(tree.clone());
            }
            // Go's `associate`: don't replace a template with an empty one.
            if self.trees.contains_key(&tree.name) && parse::node::is_empty_tree(&tree.root) {
                continue;
            }
            self.trees.insert(tree.name.clone(), tree.clone());
        }
        Ok(top.unwrap_or_else(|| {
            Rc::new(Tree {
                name: name.to_string(),
                parse_name: name.to_string(),
                root: ListNode {
                    pos: 0,
                    nodes: Vec::new(),
                },
                text: Rc::from(text),
            })
        }))
    }

    pub fn lookup(&self, name: &str) -> Option<Rc<Tree>> {
        self.trees.get(name).cloned()
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.trees.keys()
    }
}

/// Parsed templates, remembered per thread: a chart's templates are the
/// same text render after render (and `tpl` often parses the same string
/// many times), and parsing costs more than executing. A parse depends only
/// on the name and the text (the function set is fixed); trees are never
/// changed once parsed, so sharing them is invisible. Errors are not kept.
mod parse_cache {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::hash::{BuildHasher, RandomState};
    use std::rc::Rc;

    use crate::funcs;
    use crate::parse::{self, ParseError, Tree};

    /// Past this much template text the cache starts over, so a long-lived
    /// agent rendering many charts keeps a bounded amount.
    const MAX_TEXT: usize = 8 << 20;

    struct Entry {
        name: Box<str>,
        text: Box<str>,
        trees: Rc<[Rc<Tree>]>,
    }

    #[derive(Default)]
    struct Cache {
        hasher: RandomState,
        by_hash: HashMap<u64, Vec<Entry>>,
        text_bytes: usize,
    }

    thread_local! {
        static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
    }

    /// `parse::parse` with the engine's functions, remembered.
    pub(super) fn parse(name: &str, text: &str) -> Result<Rc<[Rc<Tree>]>, ParseError> {
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            let key = c.hasher.hash_one((name, text));
            if let Some(e) = c
                .by_hash
                .get(&key)
                .and_then(|es| es.iter().find(|e| &*e.name == name && &*e.text == text))
            {
                return Ok(e.trees.clone());
            }
            let all = funcs::all();
            // The parser recurses once per nested block or parenthesis; a
            // `tpl` may parse deep in an execution, so on a stack of its own
            // then (the call runs in place when the stack is barely used).
            let parsed = crate::on_big_stack(crate::BIG_STACK, || {
                parse::parse(name, text, &|f| all.contains_key(f))
            })
            .map_err(ParseError)??;
            let trees: Rc<[Rc<Tree>]> = parsed.into_iter().map(Rc::new).collect();
            if c.text_bytes + text.len() > MAX_TEXT {
                c.by_hash.clear();
                c.text_bytes = 0;
            }
            c.text_bytes += text.len() + name.len();
            c.by_hash.entry(key).or_default().push(Entry {
                name: name.into(),
                text: text.into(),
                trees: trees.clone(),
            });
            Ok(trees)
        })
    }
}

/// A value while it is being evaluated: Go distinguishes a value held in an
/// `interface{}` slot (a map element, a range element) from a concrete one;
/// it shows in "can't evaluate field X in type interface {}".
#[derive(Clone, Debug)]
struct V {
    val: Value,
    iface: bool,
    /// Addressable in Go (a field reached through a pointer, as
    /// `.Capabilities.KubeVersion`): pointer-receiver methods such as
    /// `String` apply when it is printed.
    addr: bool,
}

impl V {
    fn of(val: Value) -> V {
        V {
            val,
            iface: false,
            addr: false,
        }
    }
    fn elem(val: Value) -> V {
        V {
            val,
            iface: true,
            addr: false,
        }
    }
    /// Go's static type name of the value.
    fn type_name(&self) -> &'static str {
        if self.iface {
            "interface {}"
        } else {
            self.val.type_name()
        }
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

/// One rendering: the template set in use and Helm's per-render state.
pub struct Engine<'a> {
    pub templates: Rc<Templates>,
    pub missing_key: MissingKey,
    /// Helm's `include` recursion counters (`includedNames`).
    pub include_counts: HashMap<String, usize>,
    /// Helm's `lookup` callback; `None` makes `lookup` return an empty map.
    pub lookup: Option<&'a dyn crate::helm::Lookup>,
    /// Helm's lint mode: `required` and `fail` do not fail, they log here.
    pub lint: Option<crate::helm::LintLog>,
    /// Helm's `--enable-dns`: `getHostByName` resolves names.
    pub enable_dns: bool,
    /// Templates, includes and tpls currently executing (a guard for the stack).
    nesting: usize,
    /// `tpl` calls currently executing (see `funcs::helm::MAX_TPL_NESTING`).
    pub tpl_nesting: usize,
    /// Set (by another thread) to stop the rendering: execution checks it
    /// at every node, loop iteration and template call, and fails with
    /// [`CANCELLED`].
    pub cancel: Option<Arc<AtomicBool>>,
    /// Whether an execution stopped because of `cancel` (the error itself
    /// may come back wrapped in `include`'s or `tpl`'s).
    cancelled: bool,
}

impl<'a> Engine<'a> {
    pub fn new(templates: Templates, missing_key: MissingKey) -> Engine<'a> {
        Engine {
            templates: Rc::new(templates),
            missing_key,
            include_counts: HashMap::new(),
            lookup: None,
            lint: None,
            enable_dns: false,
            nesting: 0,
            tpl_nesting: 0,
            cancel: None,
            cancelled: false,
        }
    }

    /// Whether an execution failed because it was cancelled.
    pub fn was_cancelled(&self) -> bool {
        self.cancelled
    }

    /// Fails once `cancel` is set; a relaxed load, cheap enough for every node.
    fn check_cancel(&mut self) -> Result<(), GoError> {
        if self.cancelled
            || self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            self.cancelled = true;
            return Err(GoError::plain(CANCELLED));
        }
        Ok(())
    }

    /// Go's `t.ExecuteTemplate(w, name, data)` on the current set.
    pub fn execute_template(&mut self, name: &str, data: Value) -> Result<String, GoError> {
        let Some(tree) = self.templates.lookup(name) else {
            return Err(GoError::plain(format!(
                "template: no template {} associated with template {}",
                gofmt::quote(name),
                gofmt::quote(&self.templates.name)
            )));
        };
        self.execute_tree(&tree, data)
    }

    /// Go's `t.Execute(w, data)` for a parsed tree of the current set.
    pub fn execute_tree(&mut self, tree: &Rc<Tree>, data: Value) -> Result<String, GoError> {
        self.check_cancel()?;
        if self.nesting >= MAX_NESTING || stack_low() {
            return Err(GoError {
                msg: format!(
                    "template: {}: exceeded maximum template depth ({MAX_EXEC_DEPTH})",
                    tree.name
                ),
                exec: true,
                cause: None,
            });
        }
        self.nesting += 1;
        let mut out = String::new();
        let dot = V::of(data);
        let mut st = State {
            eng: self,
            tree,
            out: &mut out,
            node: None,
            vars: vec![("$".to_string(), dot.clone())],
            depth: 0,
        };
        let r = st.walk_list(&dot, &tree.root);
        self.nesting -= 1;
        r.map(|_| out)
    }

    /// Runs `f` with `templates` as the current set, restoring it afterwards
    /// (Helm's `tpl` executes in a clone of the set).
    pub fn with_templates<T>(
        &mut self,
        templates: Templates,
        f: impl FnOnce(&mut Engine<'a>) -> T,
    ) -> T {
        let saved = std::mem::replace(&mut self.templates, Rc::new(templates));
        let r = f(self);
        self.templates = saved;
        r
    }
}

struct State<'e, 'a, 't> {
    eng: &'e mut Engine<'a>,
    tree: &'t Tree,
    out: &'e mut String,
    node: Option<At<'t>>,
    vars: Vec<(String, V)>,
    depth: usize,
}

type R<T> = Result<T, GoError>;

impl<'e, 'a, 't> State<'e, 'a, 't> {
    fn at(&mut self, at: At<'t>) {
        self.node = Some(at);
    }

    /// Go's `state.errorf`: an `ExecError` located at the current node.
    fn errorf(&self, msg: impl std::fmt::Display) -> GoError {
        self.error_with(msg.to_string(), None)
    }

    fn error_with(&self, msg: String, cause: Option<GoError>) -> GoError {
        let text = match self.node {
            None => format!("template: {}: {msg}", self.tree.name),
            Some(at) => {
                let (location, context) = self.tree.error_context(at);
                format!(
                    "template: {location}: executing {} at <{context}>: {msg}",
                    gofmt::quote(&self.tree.name)
                )
            }
        };
        GoError {
            msg: text,
            exec: true,
            cause: cause.map(Box::new),
        }
    }

    fn mark(&self) -> usize {
        self.vars.len()
    }

    fn pop(&mut self, mark: usize) {
        self.vars.truncate(mark);
    }

    fn set_var(&mut self, name: &str, value: V) -> R<()> {
        for v in self.vars.iter_mut().rev() {
            if v.0 == name {
                v.1 = value;
                return Ok(());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn set_top_var(&mut self, n: usize, value: V) {
        let len = self.vars.len();
        if n <= len {
            self.vars[len - n].1 = value;
        }
    }

    fn var_value(&self, name: &str) -> R<V> {
        for v in self.vars.iter().rev() {
            if v.0 == name {
                return Ok(v.1.clone());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    /// Checks, before going one level deeper, that the rendering has not
    /// been cancelled and that the stack has room.
    fn descend(&mut self) -> R<()> {
        self.eng.check_cancel()?;
        if stack_low() {
            return Err(self.errorf(format!(
                "exceeded maximum template depth: the nesting of templates, blocks and pipelines leaves no stack (less than {STACK_RESERVE} bytes)"
            )));
        }
        Ok(())
    }

    /// Appends `text` to the output, within [`MAX_OUTPUT`].
    fn write(&mut self, text: &str) -> R<()> {
        check_output(self.out.len() + text.len()).map_err(|e| self.errorf(e.msg))?;
        self.out.push_str(text);
        Ok(())
    }

    // ---- walking ----

    fn walk(&mut self, dot: &V, node: &'t Node) -> R<Flow> {
        self.at(At::Node(node));
        self.descend()?;
        match node {
            Node::Action { pipe, .. } => {
                // Do not pop variables so they persist until next end.
                // Also, if the action declares variables, don't print the result.
                let val = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print_value(node, &val)?;
                }
            }
            Node::Break { .. } => return Ok(Flow::Break),
            Node::Continue { .. } => return Ok(Flow::Continue),
            Node::Comment { .. } => {}
            Node::If(b) => return self.walk_if_or_with(false, dot, b),
            Node::With(b) => return self.walk_if_or_with(true, dot, b),
            Node::List(list) => return self.walk_list(dot, list),
            Node::Range(b) => return self.walk_range(dot, node, b),
            Node::Template { name, pipe, .. } => {
                self.walk_template(dot, node, name, pipe.as_ref())?
            }
            Node::Text { text, .. } => self.write(text)?,
        }
        Ok(Flow::Normal)
    }

    fn walk_list(&mut self, dot: &V, list: &'t ListNode) -> R<Flow> {
        for n in &list.nodes {
            match self.walk(dot, n)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &V, b: &'t Branch) -> R<Flow> {
        let mark = self.mark();
        let r = self.walk_if_or_with_inner(with, dot, b);
        self.pop(mark);
        r
    }

    fn walk_if_or_with_inner(&mut self, with: bool, dot: &V, b: &'t Branch) -> R<Flow> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        if val.val.truth() {
            if with {
                self.walk_list(&val, &b.list)
            } else {
                self.walk_list(dot, &b.list)
            }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)
        } else {
            Ok(Flow::Normal)
        }
    }

    fn walk_range(&mut self, dot: &V, node: &'t Node, r: &'t Branch) -> R<Flow> {
        self.at(At::Node(node));
        let outer = self.mark();
        let res = self.walk_range_inner(dot, r);
        self.pop(outer);
        res.map(|_| Flow::Normal)
    }

    fn range_iteration(&mut self, r: &'t Branch, mark: usize, index: V, elem: V) -> R<Flow> {
        self.eng.check_cancel()?;
        let decl = &r.pipe.decl;
        if !decl.is_empty() {
            if r.pipe.is_assign {
                // With two variables, index comes first. With one, we use the element.
                if decl.len() > 1 {
                    self.set_var(&decl[0].ident[0], index.clone())?;
                } else {
                    self.set_var(&decl[0].ident[0], elem.clone())?;
                }
            } else {
                // Set top var (lexically the second if there are two) to the element.
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if r.pipe.is_assign {
                self.set_var(&decl[1].ident[0], elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let flow = self.walk_list(&elem, &r.list);
        self.pop(mark);
        flow
    }

    fn walk_range_inner(&mut self, dot: &V, r: &'t Branch) -> R<()> {
        let val = self.eval_pipeline(dot, &r.pipe)?;
        // Mark top of stack before any variables in the body are pushed.
        let mark = self.mark();
        let mut ran = false;
        macro_rules! iterate {
            ($index:expr, $elem:expr) => {{
                ran = true;
                match self.range_iteration(r, mark, $index, $elem)? {
                    Flow::Break => break,
                    Flow::Continue | Flow::Normal => {}
                }
            }};
        }
        match &val.val {
            // Integers of every kind, time.Duration included (Go 1.22).
            v if matches!(v, Value::Int(_) | Value::Int64(_) | Value::Uint(_))
                || v.duration().is_some() =>
            {
                if r.pipe.decl.len() > 1 {
                    return Err(self.errorf(format!(
                        "can't use {} to iterate over more than one variable",
                        gofmt::sprint_value(&val.val)
                    )));
                }
                let n = val.val.as_i64().unwrap_or(i64::MAX);
                // The iteration values have the ranged value's type.
                let make = |i: i64| match &val.val {
                    Value::Int64(_) => Value::Int64(i),
                    Value::Uint(_) => Value::Uint(i as u64),
                    v if v.duration().is_some() => Value::object(Object::Duration(i)),
                    _ => Value::Int(i),
                };
                let mut i = 0;
                while i < n {
                    // Pass the element as second value, as Go does for channels.
                    iterate!(V::of(Value::Invalid), V::of(make(i)));
                    i += 1;
                }
            }
            Value::List(l) => {
                let iface = l.ty == ListType::Any;
                for (i, item) in l.items.iter().enumerate() {
                    iterate!(
                        V::of(Value::Int(i as i64)),
                        V {
                            val: item.clone(),
                            iface,
                            addr: false
                        }
                    );
                }
            }
            Value::Bytes(b) => {
                for (i, byte) in b.iter().enumerate() {
                    iterate!(
                        V::of(Value::Int(i as i64)),
                        V::of(Value::Uint(*byte as u64))
                    );
                }
            }
            Value::Map(m) => {
                let iface = m.ty != MapType::StringString;
                for (k, v) in m.pairs() {
                    iterate!(
                        V::of(Value::str(k)),
                        V {
                            val: v,
                            iface,
                            addr: false
                        }
                    );
                }
            }
            Value::Object(o) if matches!(**o, Object::Files(_)) => {
                if let Object::Files(files) = &**o {
                    for (k, v) in files {
                        iterate!(V::of(Value::str(k)), V::of(Value::bytes_of(v)));
                    }
                }
            }
            Value::Invalid | Value::Nil => {}
            other => {
                let shown = match other {
                    Value::Object(_) => gofmt::sprint_value(other),
                    _ => gofmt::sprint_value(other),
                };
                return Err(self.errorf(format!("range can't iterate over {shown}")));
            }
        }
        if !ran && let Some(e) = &r.else_list {
            self.walk_list(dot, e)?;
        }
        Ok(())
    }

    fn walk_template(
        &mut self,
        dot: &V,
        node: &'t Node,
        name: &str,
        pipe: Option<&'t Pipe>,
    ) -> R<()> {
        self.at(At::Node(node));
        let Some(tree) = self.eng.templates.lookup(name) else {
            return Err(self.errorf(format!("template {} not defined", gofmt::quote(name))));
        };
        self.descend()?;
        if self.depth >= MAX_EXEC_DEPTH || self.eng.nesting >= MAX_NESTING {
            return Err(self.errorf(format!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )));
        }
        // Variables declared by the pipeline persist.
        let dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => V::of(Value::Invalid),
        };
        self.eng.nesting += 1;
        let mut st = State {
            eng: self.eng,
            tree: &tree,
            out: self.out,
            node: None,
            // No dynamic scoping: template invocations inherit no variables.
            vars: vec![("$".to_string(), dot.clone())],
            depth: self.depth + 1,
        };
        let r = st.walk_list(&dot, &tree.root);
        self.eng.nesting -= 1;
        r.map(|_| ())
    }

    // ---- evaluation ----

    fn eval_pipeline(&mut self, dot: &V, pipe: &'t Pipe) -> R<V> {
        self.at(At::Pipe(pipe));
        self.descend()?;
        let mut value: Option<V> = None;
        for cmd in &pipe.cmds {
            let mut v = self.eval_command(dot, cmd, value.take())?;
            // If the object has type interface{}, dig down one level to the thing inside.
            if v.iface || matches!(v.val, Value::Nil) {
                v = V::of(v.val.indirect_interface());
            }
            value = Some(v);
        }
        let value = value.unwrap_or_else(|| V::of(Value::Invalid));
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(&var.ident[0], value.clone())?;
            } else {
                self.vars.push((var.ident[0].clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], fin: &Option<V>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return Err(self.errorf(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &V, cmd: &'t Command, fin: Option<V>) -> R<V> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { ident, .. } => {
                return self.eval_field_node(dot, first, ident, &cmd.args, fin);
            }
            Arg::Chain { node, fields, .. } => {
                return self.eval_chain_node(dot, first, node, fields, &cmd.args, fin);
            }
            Arg::Identifier { name, .. } => {
                return self.eval_function(dot, first, At::Command(cmd), name, &cmd.args[1..], fin);
            }
            Arg::Pipe(p) => {
                // Parenthesized pipeline. The arguments are all inside the pipeline; final must be absent.
                self.not_a_function(&cmd.args, &fin)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable(v) => return self.eval_variable_node(dot, v, &cmd.args, fin),
            _ => {}
        }
        self.at(At::Arg(first));
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Arg::Bool { value, .. } => Ok(V::of(Value::Bool(*value))),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Err(self.errorf("nil is not a command")),
            Arg::Number(n) => self.ideal_constant(first, n),
            Arg::String { text, .. } => Ok(V::of(Value::str(text))),
            _ => Err(self.errorf(format!(
                "can't evaluate command {}",
                gofmt::quote(&first.to_string())
            ))),
        }
    }

    /// Go's `idealConstant`: a number literal in a context without a type.
    fn ideal_constant(&mut self, at: &'t Arg, n: &Number) -> R<V> {
        self.at(At::Arg(at));
        let is_hex_int = n.text.len() > 2
            && n.text.starts_with('0')
            && matches!(n.text.as_bytes()[1], b'x' | b'X')
            && !n.text.contains(['p', 'P']);
        let is_rune = n.text.starts_with('\'');
        if n.is_complex {
            return Ok(V::of(Value::Complex(n.complex128.0, n.complex128.1)));
        }
        if n.is_float && !is_hex_int && !is_rune && n.text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(V::of(Value::Float(n.float64)));
        }
        if n.is_int {
            return Ok(V::of(Value::Int(n.int64)));
        }
        if n.is_uint {
            return Err(self.errorf(format!("{} overflows int", n.text)));
        }
        Ok(V::of(Value::Invalid))
    }

    fn eval_field_node(
        &mut self,
        dot: &V,
        at: &'t Arg,
        ident: &'t [String],
        args: &'t [Arg],
        fin: Option<V>,
    ) -> R<V> {
        self.at(At::Arg(at));
        self.eval_field_chain(dot, dot.clone(), At::Arg(at), ident, args, fin)
    }

    fn eval_chain_node(
        &mut self,
        dot: &V,
        at: &'t Arg,
        node: &'t Arg,
        fields: &'t [String],
        args: &'t [Arg],
        fin: Option<V>,
    ) -> R<V> {
        self.at(At::Arg(at));
        if fields.is_empty() {
            return Err(self.errorf("internal error: no fields in evalChainNode"));
        }
        if let Arg::Nil { .. } = node {
            return Err(self.errorf(format!("indirection through explicit nil in {at}")));
        }
        // (pipe).Field1.Field2 has pipe as .Node, fields as .Field. Eval the pipeline, then the fields.
        let pipe = self.eval_arg(dot, None, node)?;
        self.eval_field_chain(dot, V::of(pipe), At::Arg(at), fields, args, fin)
    }

    fn eval_variable_node(
        &mut self,
        dot: &V,
        var: &'t Variable,
        args: &'t [Arg],
        fin: Option<V>,
    ) -> R<V> {
        // $x.Field has $x as the first ident, Field as the second. Eval the var, then the fields.
        self.at(At::Variable(var));
        let value = self.var_value(&var.ident[0])?;
        if var.ident.len() == 1 {
            if !args.is_empty() {
                self.not_a_function(args, &fin)?;
            } else if fin.is_some() {
                return Err(self.errorf(format!("can't give argument to non-function {var}")));
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, value, At::Variable(var), &var.ident[1..], args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &V,
        mut receiver: V,
        node: At<'t>,
        ident: &'t [String],
        args: &'t [Arg],
        fin: Option<V>,
    ) -> R<V> {
        let n = ident.len();
        for name in &ident[..n - 1] {
            receiver = self.eval_field(dot, name, node, &[], None, receiver)?;
        }
        // Now if it's a method, it gets the arguments.
        self.eval_field(dot, &ident[n - 1], node, args, fin, receiver)
    }

    fn eval_function(
        &mut self,
        dot: &V,
        ident: &'t Arg,
        node: At<'t>,
        name: &str,
        args: &'t [Arg],
        fin: Option<V>,
    ) -> R<V> {
        self.at(At::Arg(ident));
        let Some(f) = funcs::all().get(name).copied() else {
            return Err(self.errorf(format!("{} is not a defined function", gofmt::quote(name))));
        };
        self.eval_call(dot, Callee::Func(f), node, name, args, fin)
    }

    /// Go's `evalField`: `.Field` or `.Method args` on `receiver`.
    /// `args` holds the whole command (the field itself first) when it came from one.
    fn eval_field(
        &mut self,
        dot: &V,
        field: &str,
        node: At<'t>,
        args: &'t [Arg],
        fin: Option<V>,
        receiver: V,
    ) -> R<V> {
        if let Value::Invalid = receiver.val {
            if self.eng.missing_key == MissingKey::Error {
                return Err(self.errorf(format!(
                    "nil data; no entry for key {}",
                    gofmt::quote(field)
                )));
            }
            return Ok(V::of(Value::Invalid));
        }
        let typ = receiver.type_name();
        if let Value::Nil = receiver.val {
            return Err(self.errorf(format!("nil pointer evaluating {typ}.{field}")));
        }
        let call_args: &'t [Arg] = if args.is_empty() { args } else { &args[1..] };
        if let Some(m) = crate::helm::objects::method(&receiver.val, field) {
            return self.eval_call(
                dot,
                Callee::Method(m, receiver.val.clone()),
                node,
                field,
                call_args,
                fin,
            );
        }
        let has_args = args.len() > 1 || fin.is_some();
        match &receiver.val {
            Value::Map(m) => {
                if has_args {
                    return Err(self.errorf(format!("{field} is not a method but has arguments")));
                }
                let iface = m.ty != MapType::StringString;
                return match m.get(field) {
                    Some(v) => Ok(V {
                        val: v,
                        iface,
                        addr: false,
                    }),
                    None => match self.eng.missing_key {
                        MissingKey::Invalid => Ok(V::of(Value::Invalid)),
                        MissingKey::Zero => Ok(if iface {
                            V::elem(Value::Nil)
                        } else {
                            V::of(Value::str(""))
                        }),
                        MissingKey::Error => Err(self
                            .errorf(format!("map has no entry for key {}", gofmt::quote(field)))),
                    },
                };
            }
            Value::Object(o) => match crate::helm::objects::field(o, field) {
                crate::helm::objects::Field::Value(v) => {
                    if has_args {
                        let msg = if matches!(**o, Object::Files(_)) {
                            format!("{field} is not a method but has arguments")
                        } else {
                            format!("{field} has arguments but cannot be invoked as function")
                        };
                        return Err(self.errorf(msg));
                    }
                    // Fields of `.Capabilities` (a pointer) are addressable.
                    return Ok(V {
                        val: v,
                        iface: false,
                        addr: matches!(**o, Object::Capabilities(_)),
                    });
                }
                crate::helm::objects::Field::Unexported(struct_type) => {
                    return Err(self.errorf(format!(
                        "{field} is an unexported field of struct type {struct_type}"
                    )));
                }
                crate::helm::objects::Field::Uncallable(why) => {
                    return Err(self.errorf(why));
                }
                crate::helm::objects::Field::Missing => {}
            },
            _ => {}
        }
        Err(self.errorf(format!("can't evaluate field {field} in type {typ}")))
    }

    /// Go's `evalCall`. `args` excludes the function name itself.
    fn eval_call(
        &mut self,
        dot: &V,
        callee: Callee,
        node: At<'t>,
        name: &str,
        args: &'t [Arg],
        fin: Option<V>,
    ) -> R<V> {
        let sig = callee.sig();
        let num_in = args.len() + usize::from(fin.is_some());
        let mut num_fixed = args.len();
        let total_params = sig.params.len() + usize::from(sig.variadic.is_some());
        if sig.variadic.is_some() {
            num_fixed = sig.params.len();
            if num_in < num_fixed {
                return Err(self.errorf(format!(
                    "wrong number of args for {name}: want at least {} got {}",
                    num_fixed,
                    args.len()
                )));
            }
        } else if num_in != sig.params.len() {
            return Err(self.errorf(format!(
                "wrong number of args for {name}: want {} got {num_in}",
                sig.params.len()
            )));
        }
        let is_builtin = matches!(callee, Callee::Func(f) if f.builtin);

        // Special case for builtin and/or, which short-circuit.
        if is_builtin && (name == "and" || name == "or") {
            let mut v = V::of(Value::Invalid);
            for arg in args {
                v = self.eval_arg_keep(dot, Some(Ty::Reflect), arg)?;
                if v.val.truth() == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                // The last argument to and/or is coming from the pipeline.
                v = self.validate_keeping_addr(f, Some(Ty::Reflect))?;
            }
            return Ok(v);
        }

        // Build the arg list. Fixed args first, then the variadic ones.
        let mut argv: Vec<Value> = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            argv.push(self.eval_arg(dot, Some(sig.params[i]), &args[i])?);
            i += 1;
        }
        if let Some(vt) = sig.variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, Some(vt), &args[i])?);
                i += 1;
            }
        }
        // Add final value if necessary.
        if let Some(f) = fin {
            let t = if sig.variadic.is_some() {
                if num_in - 1 < num_fixed {
                    sig.params[num_in - 1]
                } else {
                    sig.variadic.unwrap_or(Ty::Any)
                }
            } else {
                sig.params[total_params - 1]
            };
            argv.push(self.validate_type(f, Some(t))?);
        }

        if is_builtin && name == "call" {
            let callee_name = match args.first() {
                Some(a) => a.to_string(),
                None => String::new(),
            };
            let fv = argv
                .first()
                .cloned()
                .unwrap_or(Value::Invalid)
                .indirect_interface();
            let msg = if let Value::Invalid = fv {
                "call of nil".to_string()
            } else {
                format!("non-function {callee_name} of type {}", fv.type_name())
            };
            self.at(node);
            return Err(self.error_with(
                format!("error calling call: {msg}"),
                Some(GoError::plain(msg)),
            ));
        }

        let result = match &callee {
            Callee::Func(f) => (f.f)(self.eng, argv),
            Callee::Method(m, recv) => (m.f)(self.eng, recv, argv),
        };
        match result {
            Ok(v) => Ok(V::of(v)),
            Err(e) => {
                self.at(node);
                Err(self.error_with(format!("error calling {name}: {}", e.msg), Some(e)))
            }
        }
    }

    /// `validate_type`, the value still saying whether it is addressable.
    fn validate_keeping_addr(&self, value: V, ty: Option<Ty>) -> R<V> {
        let addr = value.addr;
        self.validate_type(value, ty).map(|val| V {
            val,
            iface: false,
            addr,
        })
    }

    /// Go's `validateType`: checks that `value` can be passed as `ty`
    /// (`None`: Go's nil type, anything goes).
    fn validate_type(&self, value: V, ty: Option<Ty>) -> R<Value> {
        let Some(ty) = ty else {
            return Ok(value.val);
        };
        let val = value.val;
        if let Value::Invalid = val {
            if ty.can_be_nil() {
                // Like above, but use the zero value of the non-nil type.
                return Ok(if ty == Ty::Reflect {
                    Value::Invalid
                } else {
                    Value::Nil
                });
            }
            return Err(self.errorf(format!("invalid value; expected {}", ty.go_name())));
        }
        if assignable(&val, ty) {
            // The call converts an argument to its parameter's type: a
            // common.Values given for a map[string]interface{} is one
            // there (the same map), and comes back as one from a function
            // that returns it (set, merge).
            if ty == Ty::Dict
                && let Value::Map(m) = &val
                && m.ty == MapType::Values
            {
                return Ok(Value::Map(Map {
                    ty: MapType::Any,
                    ..m.clone()
                }));
            }
            return Ok(val);
        }
        let got = if let Value::Nil = val {
            "interface {}"
        } else {
            val.type_name()
        };
        Err(self.errorf(format!(
            "wrong type for value; expected {}; got {got}",
            ty.go_name()
        )))
    }

    /// Go's `evalArg`: evaluates an argument for a parameter of type `ty`.
    fn eval_arg(&mut self, dot: &V, ty: Option<Ty>, arg: &'t Arg) -> R<Value> {
        self.eval_arg_keep(dot, ty, arg).map(|v| v.val)
    }

    /// `eval_arg`, keeping whether the value is addressable: `and` and
    /// `or` hand back the argument's reflect.Value itself, so
    /// `or .Capabilities.KubeVersion` prints with its pointer's `String`
    /// (text/template's exec.go, evalCall's and/or case).
    fn eval_arg_keep(&mut self, dot: &V, ty: Option<Ty>, arg: &'t Arg) -> R<V> {
        self.at(At::Arg(arg));
        let keep = |this: &Self, v: V| this.validate_keeping_addr(v, ty);
        match arg {
            Arg::Dot { .. } => return keep(self, dot.clone()),
            Arg::Nil { .. } => {
                return match ty {
                    Some(t) if t.can_be_nil() => Ok(V::of(if t == Ty::Reflect {
                        Value::Invalid
                    } else {
                        Value::Nil
                    })),
                    Some(t) => Err(self.errorf(format!("cannot assign nil to {}", t.go_name()))),
                    None => Err(self.errorf("cannot assign nil to <nil>")),
                };
            }
            Arg::Field { ident, .. } => {
                let v = self.eval_field_node(dot, arg, ident, std::slice::from_ref(arg), None)?;
                return keep(self, v);
            }
            Arg::Variable(var) => {
                let v = self.eval_variable_node(dot, var, &[], None)?;
                return keep(self, v);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                return keep(self, v);
            }
            Arg::Identifier { name, .. } => {
                let v = self.eval_function(dot, arg, At::Arg(arg), name, &[], None)?;
                return keep(self, v);
            }
            Arg::Chain { node, fields, .. } => {
                let v = self.eval_chain_node(dot, arg, node, fields, &[], None)?;
                return keep(self, v);
            }
            _ => {}
        }
        self.eval_constant_arg(dot, ty, arg).map(V::of)
    }

    /// The rest of `evalArg`: a constant (or an empty interface's
    /// argument) for a parameter of type `ty`.
    fn eval_constant_arg(&mut self, dot: &V, ty: Option<Ty>, arg: &'t Arg) -> R<Value> {
        let Some(ty) = ty else {
            return Err(self.errorf(format!("can't handle {arg} for arg of type <nil>")));
        };
        match ty {
            Ty::Bool => match arg {
                Arg::Bool { value, .. } => Ok(Value::Bool(*value)),
                _ => Err(self.errorf(format!("expected bool; found {arg}"))),
            },
            Ty::Float64 => match arg {
                Arg::Number(n) if n.is_float => Ok(Value::Float(n.float64)),
                _ => Err(self.errorf(format!("expected float; found {arg}"))),
            },
            Ty::Int | Ty::Int64 => match arg {
                Arg::Number(n) if n.is_int => Ok(if ty == Ty::Int {
                    Value::Int(n.int64)
                } else {
                    Value::Int64(n.int64)
                }),
                _ => Err(self.errorf(format!("expected integer; found {arg}"))),
            },
            Ty::Duration => match arg {
                Arg::Number(n) if n.is_int => Ok(Value::Int64(n.int64)),
                _ => Err(self.errorf(format!("expected integer; found {arg}"))),
            },
            Ty::Uint32 => match arg {
                // reflect's SetUint truncates to the type's width.
                Arg::Number(n) if n.is_uint => Ok(Value::Uint(u64::from(n.uint64 as u32))),
                _ => Err(self.errorf(format!("expected unsigned integer; found {arg}"))),
            },
            Ty::Str => match arg {
                Arg::String { text, .. } => Ok(Value::str(text)),
                _ => Err(self.errorf(format!("expected string; found {arg}"))),
            },
            Ty::Any | Ty::Reflect => {
                let v = self.eval_empty_interface(dot, arg)?;
                Ok(if ty == Ty::Any {
                    v.val.indirect_interface_keep_nil()
                } else {
                    v.val
                })
            }
            Ty::Dict | Ty::Slice | Ty::StrList | Ty::Time | Ty::Cert | Ty::Location => Err(self
                .errorf(format!(
                    "can't handle {arg} for arg of type {}",
                    ty.go_name()
                ))),
        }
    }

    fn eval_empty_interface(&mut self, dot: &V, arg: &'t Arg) -> R<V> {
        self.at(At::Arg(arg));
        match arg {
            Arg::Bool { value, .. } => Ok(V::of(Value::Bool(*value))),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Field { ident, .. } => self.eval_field_node(dot, arg, ident, &[], None),
            Arg::Identifier { name, .. } => {
                self.eval_function(dot, arg, At::Arg(arg), name, &[], None)
            }
            Arg::Nil { .. } => Err(self.errorf("evalEmptyInterface: nil (can't happen)")),
            Arg::Number(n) => self.ideal_constant(arg, n),
            Arg::String { text, .. } => Ok(V::of(Value::str(text))),
            Arg::Variable(v) => self.eval_variable_node(dot, v, &[], None),
            Arg::Pipe(p) => self.eval_pipeline(dot, p),
            Arg::Chain { .. } => Err(self.errorf(format!(
                "can't handle assignment of {arg} to empty interface argument"
            ))),
        }
    }

    /// Go's `printValue`: what `{{ pipeline }}` writes.
    fn print_value(&mut self, node: &'t Node, v: &V) -> R<()> {
        self.at(At::Node(node));
        match &v.val {
            Value::Invalid | Value::Nil => self.write("<no value>"),
            // The field is addressable, so the pointer's String method applies.
            Value::Object(o) if v.addr && matches!(**o, Object::KubeVersion(_)) => {
                if let Object::KubeVersion(k) = &**o {
                    self.write(k.string())?;
                }
                Ok(())
            }
            other => {
                // Checked before anything is written: a list or map
                // holding one big string many times prints each.
                let room = MAX_OUTPUT.saturating_sub(self.out.len()) as u128;
                if other.printed_size_within(room).is_none() {
                    return Err(self.errorf(format!(
                        "output of more than {MAX_OUTPUT} bytes is too large (limit {MAX_OUTPUT})"
                    )));
                }
                let before = self.out.len();
                gofmt::print_printable(self.out, other);
                if let Err(e) = check_output(self.out.len()) {
                    self.out.truncate(before);
                    return Err(self.errorf(e.msg));
                }
                Ok(())
            }
        }
    }
}

/// Whether the stack is too nearly used up to go deeper (see [`STACK_RESERVE`]).
fn stack_low() -> bool {
    crate::stack::remaining().is_some_and(|left| left < STACK_RESERVE)
}

/// Refuses an output of `n` bytes beyond [`MAX_OUTPUT`], in the words of
/// [`funcs::check_size`].
pub fn check_output(n: usize) -> Result<(), GoError> {
    if n > MAX_OUTPUT {
        return Err(GoError::plain(format!(
            "output of {n} bytes is too large (limit {MAX_OUTPUT})"
        )));
    }
    Ok(())
}

impl Value {
    /// A value passed into an `interface{}` parameter: no value becomes nil.
    fn indirect_interface_keep_nil(self) -> Value {
        match self {
            Value::Invalid => Value::Nil,
            v => v,
        }
    }
}

/// Whether a value of this dynamic type is assignable to a Go parameter type.
pub fn assignable(v: &Value, ty: Ty) -> bool {
    match ty {
        Ty::Any | Ty::Reflect => true,
        Ty::Str => matches!(v, Value::String(_)),
        Ty::Int => matches!(v, Value::Int(_)),
        Ty::Int64 => matches!(v, Value::Int64(_)),
        Ty::Float64 => matches!(v, Value::Float(_)),
        Ty::Bool => matches!(v, Value::Bool(_)),
        Ty::Dict => matches!(v, Value::Map(m) if m.ty != MapType::StringString),
        Ty::Slice => matches!(v, Value::List(l) if l.ty == ListType::Any),
        Ty::StrList => {
            matches!(v, Value::List(l) if matches!(l.ty, ListType::String | ListType::VersionSet))
        }
        Ty::Time => matches!(v, Value::Object(o) if matches!(**o, Object::Time(_))),
        Ty::Cert => matches!(v, Value::Object(o) if matches!(**o, Object::Certificate(_))),
        Ty::Duration => v.duration().is_some(),
        Ty::Location => matches!(v, Value::Object(o) if matches!(**o, Object::Location(_))),
        // No value of a template has Go type uint32.
        Ty::Uint32 => false,
    }
}

/// Something callable: a template function or a bound method of an object.
enum Callee {
    Func(Func),
    Method(crate::helm::objects::Method, Value),
}

impl Callee {
    fn sig(&self) -> Sig {
        match self {
            Callee::Func(f) => f.sig,
            Callee::Method(m, _) => m.sig,
        }
    }
}
