package chat

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
)

// Limits that keep a hostile template from exhausting the gateway. Python
// has no such limits, but real chat templates come nowhere near them.
const (
	maxCallDepth = 200    // nested macro calls (Python: RecursionError)
	maxRange     = 100000 // the sandbox's range() limit
)

// maxSteps bounds loop iterations and macro calls together, maxOutput the
// size of any text built (variables, so that tests can lower them).
var (
	maxSteps  = 10_000_000
	maxOutput = 64 << 20 // bytes of rendered text, strings built included
)

var (
	errBreak    = errors.New("break")
	errContinue = errors.New("continue")
)

// scope holds the variables of one frame; the first few live inline, as
// loop bodies create a scope per iteration.
type scope struct {
	n      int
	names  [4]string
	vals   [4]any
	more   map[string]any
	parent *scope
}

func newScope(parent *scope) *scope { return &scope{parent: parent} }

func (s *scope) set(name string, v any) {
	for i := 0; i < s.n; i++ {
		if s.names[i] == name {
			s.vals[i] = v
			return
		}
	}
	if s.n < len(s.names) {
		if _, ok := s.more[name]; !ok {
			s.names[s.n], s.vals[s.n] = name, v
			s.n++
			return
		}
	}
	if s.more == nil {
		s.more = make(map[string]any)
	}
	s.more[name] = v
}

func (s *scope) get(name string) (any, bool) {
	for i := 0; i < s.n; i++ {
		if s.names[i] == name {
			return s.vals[i], true
		}
	}
	v, ok := s.more[name]
	return v, ok
}

func (s *scope) lookup(name string) (any, bool) {
	for ; s != nil; s = s.parent {
		if v, ok := s.get(name); ok {
			return v, true
		}
	}
	return nil, false
}

type evaluator struct {
	now   time.Time
	depth int
	steps int
}

func (ev *evaluator) step() error {
	ev.steps++
	if ev.steps > maxSteps {
		return &Error{Kind: "LimitError", Message: "template runs too long"}
	}
	return nil
}

func withLine(err error, line int) error {
	var e *Error
	if errors.As(err, &e) && e.Line == 0 {
		e.Line = line
	}
	return err
}

func checkSize(n int) error {
	if n > maxOutput {
		return &Error{Kind: "LimitError", Message: "rendered text too large"}
	}
	return nil
}

func (ev *evaluator) execList(nodes []node, sc *scope, out *strings.Builder) error {
	for _, n := range nodes {
		if err := ev.exec(n, sc, out); err != nil {
			return err
		}
	}
	return nil
}

func (ev *evaluator) exec(n node, sc *scope, out *strings.Builder) error {
	switch n := n.(type) {
	case *textNode:
		out.WriteString(n.text)
		return checkSize(out.Len())
	case *outputNode:
		v, err := ev.eval(n.x, sc)
		if err != nil {
			return withLine(err, n.line)
		}
		out.WriteString(toStr(v))
		return checkSize(out.Len())
	case *ifNode:
		for i, cond := range n.conds {
			c, err := ev.eval(cond, sc)
			if err != nil {
				return withLine(err, n.lines[i])
			}
			if truthy(c) {
				return ev.execList(n.bodies[i], sc, out)
			}
		}
		return ev.execList(n.elseBody, sc, out)
	case *forNode:
		return withLine(ev.execFor(n, sc, out), n.line)
	case *setNode:
		v, err := ev.eval(n.value, sc)
		if err != nil {
			return withLine(err, n.line)
		}
		return withLine(ev.assign(n.target, v, sc), n.line)
	case *setBlockNode:
		var b strings.Builder
		if err := ev.execList(n.body, sc, &b); err != nil {
			return err
		}
		v, err := ev.applyFilters(n.filters, b.String(), sc)
		if err != nil {
			return withLine(err, n.line)
		}
		return withLine(ev.assign(n.target, v, sc), n.line)
	case *macroNode:
		sc.set(n.m.name, &macro{def: n.m, scope: sc})
		return nil
	case *callBlockNode:
		caller := &macro{def: n.caller, scope: sc}
		fn, args, kw, err := ev.callParts(n.call, sc)
		if err != nil {
			return withLine(err, n.line)
		}
		kw = append(kw, kwarg{name: "caller", v: caller})
		v, err := ev.call(fn, args, kw)
		if err != nil {
			return withLine(err, n.line)
		}
		out.WriteString(toStr(v))
		return checkSize(out.Len())
	case *filterBlockNode:
		var b strings.Builder
		if err := ev.execList(n.body, sc, &b); err != nil {
			return err
		}
		v, err := ev.applyFilters(n.filters, b.String(), sc)
		if err != nil {
			return withLine(err, n.line)
		}
		out.WriteString(toStr(v))
		return checkSize(out.Len())
	case *withNode:
		inner := newScope(sc)
		for i, t := range n.targets {
			v, err := ev.eval(n.values[i], sc)
			if err != nil {
				return withLine(err, n.line)
			}
			if err := ev.assign(t, v, inner); err != nil {
				return withLine(err, n.line)
			}
		}
		return ev.execList(n.body, inner, out)
	case *breakNode:
		return errBreak
	case *continueNode:
		return errContinue
	}
	return fmt.Errorf("chat template: unknown node %T", n)
}

func (ev *evaluator) assign(t assignTarget, v any, sc *scope) error {
	if t.attr != "" {
		obj, ok := sc.lookup(t.names[0])
		ns, isNS := obj.(*namespace)
		if !ok || !isNS {
			return &Error{Kind: "TemplateRuntimeError", Message: "cannot assign attribute on non-namespace object"}
		}
		ns.attrs.set(t.attr, v)
		return nil
	}
	if !t.tuple {
		sc.set(t.names[0], v)
		return nil
	}
	vals, err := unpack(v, len(t.names))
	if err != nil {
		return err
	}
	for i, name := range t.names {
		sc.set(name, vals[i])
	}
	return nil
}

func unpack(v any, n int) ([]any, error) {
	if u, ok := v.(*undefined); ok {
		return nil, u.fail()
	}
	items, err := iterate(v)
	if err != nil {
		return nil, typeErr("cannot unpack non-iterable %s object", typeName(v))
	}
	if len(items) < n {
		return nil, &Error{Kind: "ValueError", Message: fmt.Sprintf("not enough values to unpack (expected %d, got %d)", n, len(items))}
	}
	if len(items) > n {
		return nil, &Error{Kind: "ValueError", Message: fmt.Sprintf("too many values to unpack (expected %d)", n)}
	}
	return items, nil
}

func (ev *evaluator) execFor(n *forNode, sc *scope, out *strings.Builder) error {
	iv, err := ev.eval(n.iter, sc)
	if err != nil {
		return err
	}
	items, err := iterate(iv)
	if err != nil {
		return err
	}
	if n.filter != nil {
		var kept []any
		for _, it := range items {
			fs := newScope(sc)
			if err := ev.assign(n.target, it, fs); err != nil {
				return err
			}
			ok, err := ev.eval(n.filter, fs)
			if err != nil {
				return err
			}
			if truthy(ok) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	if len(items) == 0 {
		return ev.execList(n.elseBody, newScope(sc), out)
	}
	var changed []any
	hasLast := false
	loop := &loopObj{items: items, changed: &changed, hasLast: &hasLast}
	for i, it := range items {
		if err := ev.step(); err != nil {
			return err
		}
		loop.index0 = i
		inner := newScope(sc)
		inner.set("loop", loop)
		if err := ev.assign(n.target, it, inner); err != nil {
			return err
		}
		err := ev.execList(n.body, inner, out)
		if err == errBreak {
			break
		}
		if err != nil && err != errContinue {
			return err
		}
	}
	return nil
}

// ---- expressions ----

func (ev *evaluator) eval(x expr, sc *scope) (any, error) {
	switch x := x.(type) {
	case *constExpr:
		return x.v, nil
	case *nameExpr:
		if v, ok := sc.lookup(x.name); ok {
			return v, nil
		}
		return &undefined{name: x.name}, nil
	case *attrExpr:
		obj, err := ev.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		return getAttr(obj, x.attr)
	case *itemExpr:
		obj, err := ev.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		key, err := ev.eval(x.key, sc)
		if err != nil {
			return nil, err
		}
		return getItem(obj, key)
	case *sliceExpr:
		return ev.evalSlice(x, sc)
	case *unaryExpr:
		v, err := ev.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		switch x.op {
		case "not":
			return !truthy(v), nil
		case "-":
			switch n := v.(type) {
			case bool:
				i, _ := isIntLike(n)
				return -i, nil
			case int64:
				return -n, nil
			case *big.Int:
				return new(big.Int).Neg(n), nil
			case float64:
				return -n, nil
			case *undefined:
				return nil, n.fail()
			}
			return nil, typeErr("bad operand type for unary -: '%s'", typeName(v))
		case "+":
			switch n := v.(type) {
			case bool:
				i, _ := isIntLike(n)
				return i, nil
			case int64, float64:
				return n, nil
			case *undefined:
				return nil, n.fail()
			}
			return nil, typeErr("bad operand type for unary +: '%s'", typeName(v))
		}
	case *binExpr:
		l, err := ev.eval(x.l, sc)
		if err != nil {
			return nil, err
		}
		switch x.op {
		case "and":
			if !truthy(l) {
				return l, nil
			}
			return ev.eval(x.r, sc)
		case "or":
			if truthy(l) {
				return l, nil
			}
			return ev.eval(x.r, sc)
		}
		r, err := ev.eval(x.r, sc)
		if err != nil {
			return nil, err
		}
		return binaryOp(x.op, l, r)
	case *concatExpr:
		var b strings.Builder
		for _, p := range x.parts {
			v, err := ev.eval(p, sc)
			if err != nil {
				return nil, err
			}
			b.WriteString(toStr(v))
			if err := checkSize(b.Len()); err != nil {
				return nil, err
			}
		}
		return b.String(), nil
	case *compareExpr:
		l, err := ev.eval(x.first, sc)
		if err != nil {
			return nil, err
		}
		for i, op := range x.ops {
			r, err := ev.eval(x.rest[i], sc)
			if err != nil {
				return nil, err
			}
			ok, err := compareOp(op, l, r)
			if err != nil {
				return nil, err
			}
			if !ok {
				return false, nil
			}
			l = r
		}
		return true, nil
	case *condExpr:
		c, err := ev.eval(x.cond, sc)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return ev.eval(x.t, sc)
		}
		if x.f == nil {
			return &undefined{hint: fmt.Sprintf("the inline if-expression on line %d evaluated to false and no else section was defined.", x.line)}, nil
		}
		return ev.eval(x.f, sc)
	case *callExpr:
		fn, args, kw, err := ev.callParts(x, sc)
		if err != nil {
			return nil, err
		}
		return ev.call(fn, args, kw)
	case *filterExpr:
		v, err := ev.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		return ev.applyFilter(x, v, sc)
	case *testExpr:
		v, err := ev.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		args, kw, err := ev.evalArgs(x.args, x.kwargs, nil, nil, sc)
		if err != nil {
			return nil, err
		}
		ok, err := tests[x.name](ev, v, args, kw)
		if err != nil {
			return nil, err
		}
		return ok != x.negate, nil
	case *listExpr:
		out := make([]any, len(x.items))
		for i, it := range x.items {
			v, err := ev.eval(it, sc)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case *tupleExpr:
		out := make(tuple, len(x.items))
		for i, it := range x.items {
			v, err := ev.eval(it, sc)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case *dictExpr:
		d := newDict(len(x.keys))
		for i := range x.keys {
			k, err := ev.eval(x.keys[i], sc)
			if err != nil {
				return nil, err
			}
			v, err := ev.eval(x.vals[i], sc)
			if err != nil {
				return nil, err
			}
			if !hashable(k) {
				return nil, typeErr("unhashable type: '%s'", typeName(k))
			}
			d.set(k, v)
		}
		return d, nil
	}
	return nil, fmt.Errorf("chat template: unknown expression %T", x)
}

func (ev *evaluator) evalArgs(argX []expr, kwX []kwExpr, star, sstar expr, sc *scope) ([]any, []kwarg, error) {
	args := make([]any, 0, len(argX))
	for _, a := range argX {
		v, err := ev.eval(a, sc)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, v)
	}
	var kw []kwarg
	for _, k := range kwX {
		v, err := ev.eval(k.x, sc)
		if err != nil {
			return nil, nil, err
		}
		kw = append(kw, kwarg{name: k.name, v: v})
	}
	if star != nil {
		v, err := ev.eval(star, sc)
		if err != nil {
			return nil, nil, err
		}
		items, err := iterate(v)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, items...)
	}
	if sstar != nil {
		v, err := ev.eval(sstar, sc)
		if err != nil {
			return nil, nil, err
		}
		d, ok := v.(*dict)
		if !ok {
			return nil, nil, typeErr("argument after ** must be a mapping, not %s", typeName(v))
		}
		for _, k := range d.keys {
			s, ok := k.(string)
			if !ok {
				return nil, nil, typeErr("keywords must be strings")
			}
			kw = append(kw, kwarg{name: s, v: d.val(k)})
		}
	}
	return args, kw, nil
}

func (ev *evaluator) callParts(c *callExpr, sc *scope) (any, []any, []kwarg, error) {
	fn, err := ev.eval(c.fn, sc)
	if err != nil {
		return nil, nil, nil, err
	}
	args, kw, err := ev.evalArgs(c.args, c.kwargs, c.star, c.starstar, sc)
	return fn, args, kw, err
}

func (ev *evaluator) call(fn any, args []any, kw []kwarg) (any, error) {
	switch f := fn.(type) {
	case *function:
		return f.fn(ev, args, kw)
	case *macro:
		return ev.callMacro(f, args, kw)
	case *undefined:
		return nil, f.fail()
	case *joiner:
		return f.call(), nil
	}
	return nil, typeErr("'%s' object is not callable", typeName(fn))
}

func (ev *evaluator) callMacro(m *macro, args []any, kw []kwarg) (any, error) {
	if err := ev.step(); err != nil {
		return nil, err
	}
	ev.depth++
	defer func() { ev.depth-- }()
	if ev.depth > maxCallDepth {
		return nil, &Error{Kind: "RecursionError", Message: "maximum recursion depth exceeded"}
	}
	d := m.def
	sc := newScope(m.scope)
	bound := make([]bool, len(d.params))
	for i, a := range args {
		if i < len(d.params) {
			sc.set(d.params[i], a)
			bound[i] = true
		}
	}
	var varargs []any
	if len(args) > len(d.params) {
		if !d.usesVarargs {
			return nil, typeErr("macro '%s' takes not more than %d argument(s)", d.name, len(d.params))
		}
		varargs = append(varargs, args[len(d.params):]...)
	}
	extra := newDict(0)
	for _, k := range kw {
		found := false
		for i, p := range d.params {
			if p == k.name {
				if bound[i] {
					return nil, typeErr("macro '%s' got multiple values for argument '%s'", d.name, p)
				}
				sc.set(p, k.v)
				bound[i] = true
				found = true
				break
			}
		}
		if found {
			continue
		}
		if k.name == "caller" && d.usesCaller {
			sc.set("caller", k.v)
			continue
		}
		if !d.usesKwargs {
			return nil, typeErr("macro '%s' takes no keyword argument '%s'", d.name, k.name)
		}
		extra.set(k.name, k.v)
	}
	for i, p := range d.params {
		if bound[i] {
			continue
		}
		if d.defaults[i] != nil {
			v, err := ev.eval(d.defaults[i], sc)
			if err != nil {
				return nil, err
			}
			sc.set(p, v)
		} else {
			sc.set(p, &undefined{hint: fmt.Sprintf("parameter '%s' was not provided", p), name: p})
		}
	}
	if d.usesVarargs {
		sc.set("varargs", tuple(varargs))
	}
	if d.usesKwargs {
		sc.set("kwargs", extra)
	}
	if d.usesCaller {
		if _, ok := sc.get("caller"); !ok {
			sc.set("caller", &undefined{hint: fmt.Sprintf("No caller defined"), name: "caller"})
		}
	}
	var b strings.Builder
	err := ev.execList(d.body, sc, &b)
	if err == errBreak || err == errContinue {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return b.String(), nil
}

// applyFilters runs v through a chain of filters, as {% set %} and
// {% filter %} blocks apply them to their body.
func (ev *evaluator) applyFilters(filters []*filterExpr, v any, sc *scope) (any, error) {
	for _, f := range filters {
		var err error
		if v, err = ev.applyFilter(f, v, sc); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (ev *evaluator) applyFilter(f *filterExpr, v any, sc *scope) (any, error) {
	args, kw, err := ev.evalArgs(f.args, f.kwargs, f.star, f.sstar, sc)
	if err != nil {
		return nil, err
	}
	return filters[f.name](ev, v, args, kw)
}

func (ev *evaluator) evalSlice(x *sliceExpr, sc *scope) (any, error) {
	obj, err := ev.eval(x.x, sc)
	if err != nil {
		return nil, err
	}
	var bounds [3]any
	for i, e := range []expr{x.start, x.stop, x.step} {
		if e == nil {
			continue
		}
		v, err := ev.eval(e, sc)
		if err != nil {
			return nil, err
		}
		bounds[i] = v
	}
	if u, ok := obj.(*undefined); ok {
		return nil, u.fail()
	}
	var n int
	var runes []rune
	switch o := obj.(type) {
	case string:
		runes = []rune(o)
		n = len(runes)
	case markup:
		runes = []rune(string(o))
		n = len(runes)
	case []any:
		n = len(o)
	case tuple:
		n = len(o)
	default:
		return &undefined{obj: obj, hasObj: true, hint: fmt.Sprintf("'%s' object is not subscriptable", typeName(obj))}, nil
	}
	idx, err := sliceIndices(bounds, n)
	if err != nil {
		return nil, err
	}
	switch o := obj.(type) {
	case string, markup:
		out := make([]rune, 0, len(idx))
		for _, i := range idx {
			out = append(out, runes[i])
		}
		return sameKind(o, string(out)), nil
	case []any:
		out := make([]any, 0, len(idx))
		for _, i := range idx {
			out = append(out, o[i])
		}
		return out, nil
	case tuple:
		out := make(tuple, 0, len(idx))
		for _, i := range idx {
			out = append(out, o[i])
		}
		return out, nil
	}
	return nil, nil
}

// sliceIndices is Python's slice.indices followed by range().
func sliceIndices(b [3]any, n int) ([]int, error) {
	get := func(v any) (int, bool, error) {
		if v == nil {
			return 0, false, nil
		}
		i, ok := isIntLike(v)
		if !ok {
			if u, isU := v.(*undefined); isU {
				return 0, false, u.fail()
			}
			return 0, false, typeErr("slice indices must be integers or None")
		}
		if i > math.MaxInt32 {
			i = math.MaxInt32
		}
		if i < math.MinInt32 {
			i = math.MinInt32
		}
		return int(i), true, nil
	}
	step, hasStep, err := get(b[2])
	if err != nil {
		return nil, err
	}
	if !hasStep {
		step = 1
	}
	if step == 0 {
		return nil, &Error{Kind: "ValueError", Message: "slice step cannot be zero"}
	}
	start, hasStart, err := get(b[0])
	if err != nil {
		return nil, err
	}
	stop, hasStop, err := get(b[1])
	if err != nil {
		return nil, err
	}
	clamp := func(i int, lo, hi int) int {
		if i < 0 {
			i += n
			if i < lo {
				i = lo
			}
		} else if i > hi {
			i = hi
		}
		return i
	}
	if step > 0 {
		if !hasStart {
			start = 0
		} else {
			start = clamp(start, 0, n)
		}
		if !hasStop {
			stop = n
		} else {
			stop = clamp(stop, 0, n)
		}
	} else {
		if !hasStart {
			start = n - 1
		} else {
			start = clamp(start, -1, n-1)
		}
		if !hasStop {
			stop = -1
		} else {
			stop = clamp(stop, -1, n-1)
		}
	}
	var out []int
	if step > 0 {
		for i := start; i < stop; i += step {
			out = append(out, i)
		}
	} else {
		for i := start; i > stop; i += step {
			out = append(out, i)
		}
	}
	return out, nil
}

// ---- attribute and item access (the sandbox's getattr and getitem) ----

func getAttr(obj any, name string) (any, error) {
	if u, ok := obj.(*undefined); ok {
		return nil, u.fail()
	}
	if v, found := pyAttr(obj, name); found {
		return v, nil
	}
	if d, ok := obj.(*dict); ok {
		if v, ok := d.get(name); ok {
			return v, nil
		}
	}
	return &undefined{obj: obj, hasObj: true, name: name}, nil
}

func getItem(obj, key any) (any, error) {
	if u, ok := obj.(*undefined); ok {
		return nil, u.fail()
	}
	switch o := obj.(type) {
	case *dict:
		// Undefined is hashable in Python: it just misses.
		if v, ok := o.get(key); ok {
			return v, nil
		}
	case []any:
		if v, ok := seqIndex(o, key); ok {
			return v, nil
		}
	case tuple:
		if v, ok := seqIndex(o, key); ok {
			return v, nil
		}
	case string, markup:
		if i, ok := isIntLike(key); ok {
			s, _ := asStr(o)
			r := []rune(s)
			if i < 0 {
				i += int64(len(r))
			}
			if i >= 0 && i < int64(len(r)) {
				return sameKind(o, string(r[i])), nil
			}
		}
	}
	if s, ok := asStr(key); ok {
		if v, found := pyAttr(obj, s); found {
			return v, nil
		}
		return &undefined{obj: obj, hasObj: true, name: s}, nil
	}
	return &undefined{obj: obj, hasObj: true, hint: fmt.Sprintf("%s has no element %s", objectTypeRepr(obj), repr(key))}, nil
}

func seqIndex(s []any, key any) (any, bool) {
	i, ok := isIntLike(key)
	if !ok {
		return nil, false
	}
	if i < 0 {
		i += int64(len(s))
	}
	if i < 0 || i >= int64(len(s)) {
		return nil, false
	}
	return s[i], true
}

// unsafeAttr is what the immutable sandbox returns for methods that would
// modify a value.
func unsafeAttr(obj any, name string) *undefined {
	return &undefined{obj: obj, hasObj: true, name: name, unsafe: true,
		hint: fmt.Sprintf("access to attribute '%s' of '%s' object is unsafe.", name, typeName(obj))}
}

// pyAttr is Python's getattr for the attributes templates can reach.
func pyAttr(obj any, name string) (any, bool) {
	if strings.HasPrefix(name, "_") {
		switch obj.(type) {
		case *dict, *namespace:
		default:
			if strings.HasPrefix(name, "__") {
				return unsafeAttr(obj, name), true
			}
		}
	}
	switch o := obj.(type) {
	case string:
		return strMethod(o, name)
	case markup:
		return markupMethod(o, name)
	case *dict:
		return dictMethod(o, name)
	case []any:
		return listMethod(o, name)
	case tuple:
		return tupleMethod(o, name)
	case *namespace:
		v, ok := o.attrs.get(name)
		return v, ok
	case *loopObj:
		return o.attr(name)
	case *cycler:
		return o.attr(name)
	case *macro:
		switch name {
		case "name":
			return o.def.name, true
		case "arguments":
			t := make(tuple, len(o.def.params))
			for i, p := range o.def.params {
				t[i] = p
			}
			return t, true
		case "catch_kwargs":
			return o.def.usesKwargs, true
		case "catch_varargs":
			return o.def.usesVarargs, true
		case "caller":
			return o.def.usesCaller, true
		}
	}
	return nil, false
}

func method(name string, fn func(ev *evaluator, args []any, kw []kwarg) (any, error)) *function {
	return &function{name: name, fn: fn}
}

func (l *loopObj) attr(name string) (any, bool) {
	n := len(l.items)
	i := l.index0
	switch name {
	case "index":
		return int64(i + 1), true
	case "index0":
		return int64(i), true
	case "revindex":
		return int64(n - i), true
	case "revindex0":
		return int64(n - i - 1), true
	case "first":
		return i == 0, true
	case "last":
		return i == n-1, true
	case "length":
		return int64(n), true
	case "depth":
		return int64(1), true
	case "depth0":
		return int64(0), true
	case "previtem":
		if i == 0 {
			return &undefined{hint: "there is no previous item", name: "previtem"}, true
		}
		return l.items[i-1], true
	case "nextitem":
		if i == n-1 {
			return &undefined{hint: "there is no next item", name: "nextitem"}, true
		}
		return l.items[i+1], true
	case "cycle":
		return method("loop.cycle", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			if len(args) == 0 {
				return nil, typeErr("no items for cycling given")
			}
			return args[l.index0%len(args)], nil
		}), true
	case "changed":
		return method("loop.changed", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			if *l.hasLast && seqEqual(*l.changed, args, 0) {
				return false, nil
			}
			*l.hasLast = true
			*l.changed = append([]any(nil), args...)
			return true, nil
		}), true
	}
	return nil, false
}

// ---- operators ----

func compareOp(op string, l, r any) (bool, error) {
	switch op {
	case "==":
		return equal(l, r), nil
	case "!=":
		return !equal(l, r), nil
	case "in":
		return contains(r, l)
	case "not in":
		ok, err := contains(r, l)
		return !ok, err
	}
	c, err := compare(l, r, op)
	if err != nil {
		return false, err
	}
	switch op {
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	case ">=":
		return c >= 0, nil
	}
	return false, fmt.Errorf("chat template: unknown operator %s", op)
}

func unsupported(op string, l, r any) error {
	return typeErr("unsupported operand type(s) for %s: '%s' and '%s'", op, typeName(l), typeName(r))
}

func binaryOp(op string, l, r any) (any, error) {
	if u, ok := l.(*undefined); ok {
		return nil, u.fail()
	}
	if u, ok := r.(*undefined); ok {
		return nil, u.fail()
	}
	if isNumber(l) && isNumber(r) {
		return numOp(op, l, r)
	}
	switch op {
	case "+":
		if v, ok := markupAdd(l, r); ok {
			return v, nil
		}
		switch a := l.(type) {
		case string:
			b, ok := r.(string)
			if !ok {
				return nil, typeErr("can only concatenate str (not \"%s\") to str", typeName(r))
			}
			if err := checkSize(len(a) + len(b)); err != nil {
				return nil, err
			}
			return a + b, nil
		case []any:
			b, ok := r.([]any)
			if !ok {
				return nil, typeErr("can only concatenate list (not \"%s\") to list", typeName(r))
			}
			return append(append(make([]any, 0, len(a)+len(b)), a...), b...), nil
		case tuple:
			b, ok := r.(tuple)
			if !ok {
				return nil, typeErr("can only concatenate tuple (not \"%s\") to tuple", typeName(r))
			}
			return append(append(make(tuple, 0, len(a)+len(b)), a...), b...), nil
		}
	case "*":
		if n, ok := isIntLike(r); ok {
			return repeat(l, n)
		}
		if n, ok := isIntLike(l); ok {
			return repeat(r, n)
		}
	case "%":
		if s, ok := l.(string); ok {
			return percentFormat(s, r)
		}
		if m, ok := l.(markup); ok {
			v, err := percentFormat(string(m), escapePercentArgs(r))
			if err != nil {
				return nil, err
			}
			return markup(v.(string)), nil
		}
	}
	return nil, unsupported(op, l, r)
}

func repeat(v any, n int64) (any, error) {
	if n < 0 {
		n = 0
	}
	switch a := v.(type) {
	case string, markup:
		s, _ := asStr(a)
		if s == "" || n == 0 {
			return sameKind(a, ""), nil
		}
		if err := checkSize(len(s) * int(min(n, int64(maxOutput)+1))); err != nil {
			return nil, err
		}
		return sameKind(a, strings.Repeat(s, int(n))), nil
	case []any:
		if len(a) == 0 || n == 0 {
			return []any{}, nil
		}
		if err := checkSize(len(a) * int(min(n, int64(maxOutput)+1))); err != nil {
			return nil, err
		}
		out := make([]any, 0, len(a)*int(n))
		for range n {
			out = append(out, a...)
		}
		return out, nil
	}
	return nil, typeErr("can't multiply sequence by non-int of type '%s'", typeName(v))
}

func numOp(op string, l, r any) (any, error) {
	li, lok := isIntLike(l)
	ri, rok := isIntLike(r)
	if lok && rok {
		switch op {
		case "+":
			return li + ri, nil
		case "-":
			return li - ri, nil
		case "*":
			return li * ri, nil
		case "/":
			if ri == 0 {
				return nil, &Error{Kind: "ZeroDivisionError", Message: "division by zero"}
			}
			return float64(li) / float64(ri), nil
		case "//":
			if ri == 0 {
				return nil, &Error{Kind: "ZeroDivisionError", Message: "integer division or modulo by zero"}
			}
			q := li / ri
			if (li%ri != 0) && ((li < 0) != (ri < 0)) {
				q--
			}
			return q, nil
		case "%":
			if ri == 0 {
				return nil, &Error{Kind: "ZeroDivisionError", Message: "integer division or modulo by zero"}
			}
			m := li % ri
			if m != 0 && ((m < 0) != (ri < 0)) {
				m += ri
			}
			return m, nil
		case "**":
			if ri >= 0 {
				res := int64(1)
				for range min(ri, 64) {
					res *= li
				}
				if ri > 64 && li != 0 && li != 1 && li != -1 {
					return math.Pow(float64(li), float64(ri)), nil
				}
				return res, nil
			}
			return math.Pow(float64(li), float64(ri)), nil
		}
	}
	a, b := toFloat(l), toFloat(r)
	switch op {
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	case "/":
		if b == 0 {
			return nil, &Error{Kind: "ZeroDivisionError", Message: "float division by zero"}
		}
		return a / b, nil
	case "//":
		if b == 0 {
			return nil, &Error{Kind: "ZeroDivisionError", Message: "float floor division by zero"}
		}
		return math.Floor(a / b), nil
	case "%":
		if b == 0 {
			return nil, &Error{Kind: "ZeroDivisionError", Message: "float modulo"}
		}
		m := math.Mod(a, b)
		if m != 0 && ((m < 0) != (b < 0)) {
			m += b
		}
		return m, nil
	case "**":
		return math.Pow(a, b), nil
	}
	return nil, unsupported(op, l, r)
}
