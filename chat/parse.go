package chat

import (
	"fmt"
	"strconv"
)

// ---- AST ----

type node interface{}

type (
	textNode   struct{ text string }
	outputNode struct {
		x    expr
		line int
	}
	// ifNode is an if/elif chain: the first true cond runs its body.
	ifNode struct {
		conds    []expr
		bodies   [][]node
		lines    []int
		elseBody []node
	}
	forNode struct {
		target   assignTarget
		iter     expr
		filter   expr
		body     []node
		elseBody []node
		line     int
	}
	setNode struct {
		target assignTarget
		value  expr
		line   int
	}
	setBlockNode struct {
		target  assignTarget
		filters []*filterExpr // applied in order to the body
		body    []node
		line    int
	}
	macroNode struct {
		m    *macroDef
		line int
	}
	callBlockNode struct {
		call   *callExpr
		caller *macroDef
		line   int
	}
	filterBlockNode struct {
		filters []*filterExpr
		body    []node
		line    int
	}
	withNode struct {
		targets []assignTarget
		values  []expr
		body    []node
		line    int
	}
	breakNode    struct{ line int }
	continueNode struct{ line int }
)

// assignTarget is a name, a tuple of names, or namespace.attr.
type assignTarget struct {
	names []string
	tuple bool
	attr  string // set when the target is names[0].attr
}

type macroDef struct {
	name     string
	params   []string
	defaults []expr // nil where there is no default
	body     []node
	// Whether the body mentions these special names.
	usesVarargs, usesKwargs, usesCaller bool
}

type expr interface{}

type (
	constExpr struct{ v any }
	nameExpr  struct{ name string }
	attrExpr  struct {
		x    expr
		attr string
	}
	itemExpr struct {
		x, key expr
	}
	sliceExpr struct {
		x                 expr
		start, stop, step expr
	}
	unaryExpr struct {
		op string
		x  expr
	}
	binExpr struct {
		op   string
		l, r expr
	}
	concatExpr  struct{ parts []expr }
	compareExpr struct {
		first expr
		ops   []string
		rest  []expr
	}
	condExpr struct {
		cond, t, f expr // f may be nil
		line       int
	}
	callExpr struct {
		fn       expr
		args     []expr
		kwargs   []kwExpr
		star     expr
		starstar expr
	}
	filterExpr struct {
		x      expr // nil in filter blocks
		name   string
		args   []expr
		kwargs []kwExpr
		star   expr
		sstar  expr
	}
	testExpr struct {
		x      expr
		name   string
		args   []expr
		kwargs []kwExpr
		negate bool
	}
	listExpr  struct{ items []expr }
	tupleExpr struct{ items []expr }
	dictExpr  struct{ keys, vals []expr }
)

type kwExpr struct {
	name string
	x    expr
}

// ---- parser ----

type parser struct {
	toks  []token
	pos   int
	depth int
	loops int // for loops around the current statement
	// names seen while parsing a macro body
	names map[string]bool
}

const maxParseDepth = 200

func parse(src string) ([]node, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	body, end, err := p.statements(nil)
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, p.errf("unexpected '%s'", end)
	}
	return body, nil
}

func (p *parser) cur() token  { return p.toks[p.pos] }
func (p *parser) peek() token { return p.toks[min(p.pos+1, len(p.toks)-1)] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if p.pos < len(p.toks)-1 {
		p.pos++
	}
	return t
}

func (p *parser) errf(format string, args ...any) error {
	return &SyntaxError{Line: p.cur().line, Message: fmt.Sprintf(format, args...)}
}

func (p *parser) isOp(op string) bool { t := p.cur(); return t.kind == tOp && t.val == op }
func (p *parser) isName(n string) bool {
	t := p.cur()
	return t.kind == tName && t.val == n
}

func (p *parser) skipOp(op string) bool {
	if p.isOp(op) {
		p.next()
		return true
	}
	return false
}

func (p *parser) skipName(n string) bool {
	if p.isName(n) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expectOp(op string) error {
	if !p.skipOp(op) {
		return p.errf("expected '%s', got %s", op, p.cur())
	}
	return nil
}

func (p *parser) expectKind(k tokKind, what string) (token, error) {
	if p.cur().kind != k {
		return token{}, p.errf("expected %s, got %s", what, p.cur())
	}
	return p.next(), nil
}

func (p *parser) blockEnd() error {
	_, err := p.expectKind(tBlockEnd, "end of statement block")
	return err
}

// statements parses until one of the end keywords opens a block tag; it
// returns the keyword (the tag's name is consumed, the rest is not).
func (p *parser) statements(ends []string) ([]node, string, error) {
	var body []node
	for {
		t := p.cur()
		switch t.kind {
		case tEOF:
			if len(ends) > 0 {
				return nil, "", p.errf("unexpected end of template, expected one of %v", ends)
			}
			return body, "", nil
		case tData:
			p.next()
			body = append(body, &textNode{text: t.val})
		case tVarBegin:
			p.next()
			x, err := p.tuple(true, false)
			if err != nil {
				return nil, "", err
			}
			if _, err := p.expectKind(tVarEnd, "end of print statement"); err != nil {
				return nil, "", err
			}
			body = append(body, &outputNode{x: x, line: t.line})
		case tBlockBegin:
			p.next()
			kw := p.cur()
			if kw.kind != tName {
				return nil, "", p.errf("tag name expected")
			}
			for _, e := range ends {
				if kw.val == e {
					p.next()
					return body, e, nil
				}
			}
			n, err := p.statement()
			if err != nil {
				return nil, "", err
			}
			if n != nil {
				body = append(body, n)
			}
		default:
			return nil, "", p.errf("unexpected %s", t)
		}
	}
}

func (p *parser) statement() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxParseDepth {
		return nil, p.errf("template nested too deeply")
	}
	kw := p.next()
	switch kw.val {
	case "if":
		return p.parseIf(kw.line)
	case "for":
		return p.parseFor(kw.line)
	case "set":
		return p.parseSet(kw.line)
	case "macro":
		return p.parseMacro(kw.line)
	case "call":
		return p.parseCallBlock(kw.line)
	case "filter":
		return p.parseFilterBlock(kw.line)
	case "with":
		return p.parseWith(kw.line)
	case "break", "continue":
		if p.loops == 0 {
			p.pos--
			return nil, p.errf("'%s' outside of a loop", kw.val)
		}
		if err := p.blockEnd(); err != nil {
			return nil, err
		}
		if kw.val == "break" {
			return &breakNode{line: kw.line}, nil
		}
		return &continueNode{line: kw.line}, nil
	case "generation":
		// transformers' {% generation %} marks assistant text; it renders
		// its body unchanged.
		if err := p.blockEnd(); err != nil {
			return nil, err
		}
		body, _, err := p.statements([]string{"endgeneration"})
		if err != nil {
			return nil, err
		}
		if err := p.blockEnd(); err != nil {
			return nil, err
		}
		return &ifNode{conds: []expr{&constExpr{v: true}}, bodies: [][]node{body}, lines: []int{kw.line}}, nil
	}
	p.pos--
	return nil, p.errf("unknown tag '%s'", kw.val)
}

func (p *parser) parseIf(line int) (node, error) {
	n := &ifNode{}
	end := "elif"
	for end == "elif" {
		cond, err := p.tuple(false, false)
		if err != nil {
			return nil, err
		}
		if err := p.blockEnd(); err != nil {
			return nil, err
		}
		var body []node
		body, end, err = p.statements([]string{"elif", "else", "endif"})
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		n.lines = append(n.lines, line)
		line = p.cur().line
	}
	var err error
	switch end {
	case "else":
		if err := p.blockEnd(); err != nil {
			return nil, err
		}
		n.elseBody, _, err = p.statements([]string{"endif"})
		if err != nil {
			return nil, err
		}
		if err := p.blockEnd(); err != nil {
			return nil, err
		}
	case "endif":
		if err := p.blockEnd(); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (p *parser) assignTarget(nsRef bool, extraEnd ...string) (assignTarget, error) {
	if nsRef && p.cur().kind == tName && p.peek().kind == tOp && p.peek().val == "." {
		name := p.next().val
		p.next()
		attr, err := p.expectKind(tName, "attribute name")
		if err != nil {
			return assignTarget{}, err
		}
		return assignTarget{names: []string{name}, attr: attr.val}, nil
	}
	var t assignTarget
	paren := p.skipOp("(")
	for {
		n, err := p.expectKind(tName, "name")
		if err != nil {
			return t, err
		}
		switch n.val {
		case "true", "false", "none", "True", "False", "None":
			return t, p.errf("can't assign to '%s'", n.val)
		}
		t.names = append(t.names, n.val)
		if !p.skipOp(",") {
			break
		}
		t.tuple = true
		if paren && p.isOp(")") {
			break
		}
		stop := false
		for _, e := range extraEnd {
			if p.isName(e) {
				stop = true
			}
		}
		if stop || p.cur().kind == tBlockEnd || p.isOp("=") {
			break
		}
	}
	if paren {
		if err := p.expectOp(")"); err != nil {
			return t, err
		}
		if len(t.names) > 1 {
			t.tuple = true
		}
	}
	return t, nil
}

func (p *parser) parseFor(line int) (node, error) {
	target, err := p.assignTarget(false, "in")
	if err != nil {
		return nil, err
	}
	if !p.skipName("in") {
		return nil, p.errf("expected 'in' in for loop")
	}
	iter, err := p.tuple(false, false, "recursive")
	if err != nil {
		return nil, err
	}
	n := &forNode{target: target, iter: iter, line: line}
	if p.skipName("if") {
		n.filter, err = p.expression(true)
		if err != nil {
			return nil, err
		}
	}
	if p.isName("recursive") {
		return nil, p.errf("recursive for loops are not supported")
	}
	if err := p.blockEnd(); err != nil {
		return nil, err
	}
	p.loops++
	body, end, err := p.statements([]string{"endfor", "else"})
	p.loops--
	if err != nil {
		return nil, err
	}
	n.body = body
	if end == "else" {
		if err := p.blockEnd(); err != nil {
			return nil, err
		}
		n.elseBody, _, err = p.statements([]string{"endfor"})
		if err != nil {
			return nil, err
		}
	}
	if err := p.blockEnd(); err != nil {
		return nil, err
	}
	return n, nil
}

func (p *parser) parseSet(line int) (node, error) {
	target, err := p.assignTarget(true)
	if err != nil {
		return nil, err
	}
	if p.skipOp("=") {
		v, err := p.tuple(true, false)
		if err != nil {
			return nil, err
		}
		if err := p.blockEnd(); err != nil {
			return nil, err
		}
		return &setNode{target: target, value: v, line: line}, nil
	}
	var filters []*filterExpr
	if p.isOp("|") {
		filters, err = p.filterChain()
		if err != nil {
			return nil, err
		}
	}
	if err := p.blockEnd(); err != nil {
		return nil, err
	}
	body, _, err := p.statements([]string{"endset"})
	if err != nil {
		return nil, err
	}
	if err := p.blockEnd(); err != nil {
		return nil, err
	}
	return &setBlockNode{target: target, filters: filters, body: body, line: line}, nil
}

// filterChain parses "| f(args) | g" (the first pipe included).
func (p *parser) filterChain() ([]*filterExpr, error) {
	var out []*filterExpr
	for p.skipOp("|") {
		f, err := p.filterCall(nil)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func (p *parser) dottedName(what string) (string, error) {
	t, err := p.expectKind(tName, what)
	if err != nil {
		return "", err
	}
	name := t.val
	for p.isOp(".") && p.peek().kind == tName {
		p.next()
		name += "." + p.next().val
	}
	return name, nil
}

func (p *parser) filterCall(x expr) (*filterExpr, error) {
	name, err := p.dottedName("filter name")
	if err != nil {
		return nil, err
	}
	if _, ok := filters[name]; !ok {
		return nil, p.errf("no filter named '%s'", name)
	}
	f := &filterExpr{x: x, name: name}
	if p.isOp("(") {
		c, err := p.callArgs()
		if err != nil {
			return nil, err
		}
		f.args, f.kwargs, f.star, f.sstar = c.args, c.kwargs, c.star, c.starstar
	}
	return f, nil
}

func (p *parser) signature() (*macroDef, error) {
	m := &macroDef{}
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	for !p.isOp(")") {
		if len(m.params) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
			if p.isOp(")") {
				break
			}
		}
		n, err := p.expectKind(tName, "parameter name")
		if err != nil {
			return nil, err
		}
		var def expr
		if p.skipOp("=") {
			def, err = p.expression(true)
			if err != nil {
				return nil, err
			}
		} else if len(m.defaults) > 0 && m.defaults[len(m.defaults)-1] != nil {
			return nil, p.errf("non-default argument follows default argument")
		}
		m.params = append(m.params, n.val)
		m.defaults = append(m.defaults, def)
	}
	p.next()
	return m, nil
}

// macroBody parses a macro or call body and notes which of the special
// names varargs, kwargs and caller it mentions.
func (p *parser) macroBody(m *macroDef, end string) error {
	saved, savedLoops := p.names, p.loops
	p.names = map[string]bool{}
	p.loops = 0
	body, _, err := p.statements([]string{end})
	p.loops = savedLoops
	names := p.names
	p.names = saved
	if saved != nil {
		for k := range names {
			saved[k] = true
		}
	}
	if err != nil {
		return err
	}
	if err := p.blockEnd(); err != nil {
		return err
	}
	m.body = body
	m.usesVarargs, m.usesKwargs, m.usesCaller = names["varargs"], names["kwargs"], names["caller"]
	return nil
}

func (p *parser) parseMacro(line int) (node, error) {
	name, err := p.expectKind(tName, "macro name")
	if err != nil {
		return nil, err
	}
	m, err := p.signature()
	if err != nil {
		return nil, err
	}
	m.name = name.val
	if err := p.blockEnd(); err != nil {
		return nil, err
	}
	if err := p.macroBody(m, "endmacro"); err != nil {
		return nil, err
	}
	return &macroNode{m: m, line: line}, nil
}

func (p *parser) parseCallBlock(line int) (node, error) {
	caller := &macroDef{name: "caller"}
	if p.isOp("(") {
		var err error
		caller, err = p.signature()
		if err != nil {
			return nil, err
		}
		caller.name = "caller"
	}
	x, err := p.expression(true)
	if err != nil {
		return nil, err
	}
	call, ok := x.(*callExpr)
	if !ok {
		return nil, p.errf("expected call")
	}
	if err := p.blockEnd(); err != nil {
		return nil, err
	}
	if err := p.macroBody(caller, "endcall"); err != nil {
		return nil, err
	}
	return &callBlockNode{call: call, caller: caller, line: line}, nil
}

func (p *parser) parseFilterBlock(line int) (node, error) {
	var fs []*filterExpr
	for {
		f, err := p.filterCall(nil)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
		if !p.skipOp("|") {
			break
		}
	}
	if err := p.blockEnd(); err != nil {
		return nil, err
	}
	body, _, err := p.statements([]string{"endfilter"})
	if err != nil {
		return nil, err
	}
	if err := p.blockEnd(); err != nil {
		return nil, err
	}
	return &filterBlockNode{filters: fs, body: body, line: line}, nil
}

func (p *parser) parseWith(line int) (node, error) {
	n := &withNode{line: line}
	for p.cur().kind != tBlockEnd {
		if len(n.targets) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		t, err := p.assignTarget(false)
		if err != nil {
			return nil, err
		}
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		v, err := p.expression(true)
		if err != nil {
			return nil, err
		}
		n.targets = append(n.targets, t)
		n.values = append(n.values, v)
	}
	p.next()
	body, _, err := p.statements([]string{"endwith"})
	if err != nil {
		return nil, err
	}
	if err := p.blockEnd(); err != nil {
		return nil, err
	}
	n.body = body
	return n, nil
}

// ---- expressions ----

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxParseDepth {
		return p.errf("expression nested too deeply")
	}
	return nil
}

// tuple parses a comma separated list of expressions; one expression
// without a comma is returned as is.
func (p *parser) tuple(condExpr, explicitParens bool, extraEnd ...string) (expr, error) {
	var items []expr
	comma := false
	for {
		if len(items) > 0 {
			if !p.skipOp(",") {
				break
			}
			comma = true
		}
		if p.tupleEnds(extraEnd) {
			break
		}
		x, err := p.expression(condExpr)
		if err != nil {
			return nil, err
		}
		items = append(items, x)
		if !p.isOp(",") {
			break
		}
	}
	if !comma {
		if len(items) == 1 {
			return items[0], nil
		}
		if !explicitParens {
			return nil, p.errf("expected an expression, got %s", p.cur())
		}
	}
	return &tupleExpr{items: items}, nil
}

func (p *parser) tupleEnds(extra []string) bool {
	t := p.cur()
	switch t.kind {
	case tVarEnd, tBlockEnd, tEOF:
		return true
	case tOp:
		return t.val == ")"
	case tName:
		for _, e := range extra {
			if t.val == e {
				return true
			}
		}
	}
	return false
}

func (p *parser) expression(condExpr bool) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if condExpr {
		return p.condExpr()
	}
	return p.or()
}

func (p *parser) condExpr() (expr, error) {
	line := p.cur().line
	x, err := p.or()
	if err != nil {
		return nil, err
	}
	for p.skipName("if") {
		cond, err := p.or()
		if err != nil {
			return nil, err
		}
		c := &condExpr{cond: cond, t: x, line: line}
		if p.skipName("else") {
			if err := p.enter(); err != nil {
				return nil, err
			}
			c.f, err = p.condExpr()
			p.depth--
			if err != nil {
				return nil, err
			}
		}
		x = c
		line = p.cur().line
	}
	return x, nil
}

func (p *parser) or() (expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.skipName("or") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &binExpr{op: "or", l: l, r: r}
	}
	return l, nil
}

func (p *parser) and() (expr, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.skipName("and") {
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = &binExpr{op: "and", l: l, r: r}
	}
	return l, nil
}

func (p *parser) not() (expr, error) {
	if p.isName("not") {
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		x, err := p.not()
		p.depth--
		if err != nil {
			return nil, err
		}
		return &unaryExpr{op: "not", x: x}, nil
	}
	return p.compare()
}

func (p *parser) compare() (expr, error) {
	x, err := p.math1()
	if err != nil {
		return nil, err
	}
	c := &compareExpr{first: x}
	for {
		t := p.cur()
		var op string
		switch {
		case t.kind == tOp && (t.val == "==" || t.val == "!=" || t.val == "<" || t.val == "<=" || t.val == ">" || t.val == ">="):
			op = t.val
			p.next()
		case t.kind == tName && t.val == "in":
			op = "in"
			p.next()
		case t.kind == tName && t.val == "not" && p.peek().kind == tName && p.peek().val == "in":
			op = "not in"
			p.next()
			p.next()
		}
		if op == "" {
			break
		}
		r, err := p.math1()
		if err != nil {
			return nil, err
		}
		c.ops = append(c.ops, op)
		c.rest = append(c.rest, r)
	}
	if len(c.ops) == 0 {
		return x, nil
	}
	return c, nil
}

func (p *parser) math1() (expr, error) {
	l, err := p.concat()
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") {
		op := p.next().val
		r, err := p.concat()
		if err != nil {
			return nil, err
		}
		l = &binExpr{op: op, l: l, r: r}
	}
	return l, nil
}

func (p *parser) concat() (expr, error) {
	x, err := p.math2()
	if err != nil {
		return nil, err
	}
	parts := []expr{x}
	for p.skipOp("~") {
		y, err := p.math2()
		if err != nil {
			return nil, err
		}
		parts = append(parts, y)
	}
	if len(parts) == 1 {
		return x, nil
	}
	return &concatExpr{parts: parts}, nil
}

func (p *parser) math2() (expr, error) {
	l, err := p.pow()
	if err != nil {
		return nil, err
	}
	for p.isOp("*") || p.isOp("/") || p.isOp("//") || p.isOp("%") {
		op := p.next().val
		r, err := p.pow()
		if err != nil {
			return nil, err
		}
		l = &binExpr{op: op, l: l, r: r}
	}
	return l, nil
}

func (p *parser) pow() (expr, error) {
	l, err := p.unary(true)
	if err != nil {
		return nil, err
	}
	for p.skipOp("**") {
		r, err := p.unary(true)
		if err != nil {
			return nil, err
		}
		l = &binExpr{op: "**", l: l, r: r}
	}
	return l, nil
}

func (p *parser) unary(withFilter bool) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	var x expr
	var err error
	if p.isOp("-") || p.isOp("+") {
		op := p.next().val
		operand, err := p.unary(false)
		if err != nil {
			return nil, err
		}
		x = &unaryExpr{op: op, x: operand}
	} else {
		x, err = p.primary()
		if err != nil {
			return nil, err
		}
	}
	x, err = p.postfix(x)
	if err != nil {
		return nil, err
	}
	if withFilter {
		x, err = p.filterExpr(x)
	}
	return x, err
}

func (p *parser) primary() (expr, error) {
	t := p.cur()
	switch t.kind {
	case tName:
		p.next()
		switch t.val {
		case "true", "True":
			return &constExpr{v: true}, nil
		case "false", "False":
			return &constExpr{v: false}, nil
		case "none", "None":
			return &constExpr{v: nil}, nil
		}
		if p.names != nil {
			p.names[t.val] = true
		}
		return &nameExpr{name: t.val}, nil
	case tString:
		s := ""
		for p.cur().kind == tString {
			s += p.next().val
		}
		return &constExpr{v: s}, nil
	case tInt:
		p.next()
		i, err := strconv.ParseInt(t.val, 10, 64)
		if err != nil {
			f, _ := strconv.ParseFloat(t.val, 64)
			return &constExpr{v: f}, nil
		}
		return &constExpr{v: i}, nil
	case tFloat:
		p.next()
		f, err := strconv.ParseFloat(t.val, 64)
		if err != nil {
			return nil, p.errf("bad number %s", t.val)
		}
		return &constExpr{v: f}, nil
	case tOp:
		switch t.val {
		case "(":
			p.next()
			x, err := p.tuple(true, true)
			if err != nil {
				return nil, err
			}
			return x, p.expectOp(")")
		case "[":
			p.next()
			l := &listExpr{}
			for !p.isOp("]") {
				if len(l.items) > 0 {
					if err := p.expectOp(","); err != nil {
						return nil, err
					}
					if p.isOp("]") {
						break
					}
				}
				x, err := p.expression(true)
				if err != nil {
					return nil, err
				}
				l.items = append(l.items, x)
			}
			p.next()
			return l, nil
		case "{":
			p.next()
			d := &dictExpr{}
			for !p.isOp("}") {
				if len(d.keys) > 0 {
					if err := p.expectOp(","); err != nil {
						return nil, err
					}
					if p.isOp("}") {
						break
					}
				}
				k, err := p.expression(true)
				if err != nil {
					return nil, err
				}
				if err := p.expectOp(":"); err != nil {
					return nil, err
				}
				v, err := p.expression(true)
				if err != nil {
					return nil, err
				}
				d.keys = append(d.keys, k)
				d.vals = append(d.vals, v)
			}
			p.next()
			return d, nil
		}
	}
	return nil, p.errf("unexpected %s", t)
}

func (p *parser) postfix(x expr) (expr, error) {
	for {
		switch {
		case p.isOp(".") || p.isOp("["):
			var err error
			x, err = p.subscript(x)
			if err != nil {
				return nil, err
			}
		case p.isOp("("):
			c, err := p.callArgs()
			if err != nil {
				return nil, err
			}
			c.fn = x
			x = c
		default:
			return x, nil
		}
	}
}

func (p *parser) filterExpr(x expr) (expr, error) {
	for {
		switch {
		case p.isOp("|"):
			p.next()
			f, err := p.filterCall(x)
			if err != nil {
				return nil, err
			}
			x = f
		case p.isName("is"):
			p.next()
			var err error
			x, err = p.test(x)
			if err != nil {
				return nil, err
			}
		case p.isOp("("):
			c, err := p.callArgs()
			if err != nil {
				return nil, err
			}
			c.fn = x
			x = c
		default:
			return x, nil
		}
	}
}

func (p *parser) test(x expr) (expr, error) {
	negate := p.skipName("not")
	name, err := p.dottedName("test name")
	if err != nil {
		return nil, err
	}
	if _, ok := tests[name]; !ok {
		return nil, p.errf("no test named '%s'", name)
	}
	t := &testExpr{x: x, name: name, negate: negate}
	cur := p.cur()
	switch {
	case p.isOp("("):
		c, err := p.callArgs()
		if err != nil {
			return nil, err
		}
		t.args, t.kwargs = c.args, c.kwargs
	case (cur.kind == tName || cur.kind == tString || cur.kind == tInt || cur.kind == tFloat || p.isOp("[") || p.isOp("{")) &&
		!(cur.kind == tName && (cur.val == "else" || cur.val == "or" || cur.val == "and")):
		if cur.kind == tName && cur.val == "is" {
			return nil, p.errf("You cannot chain multiple tests with is")
		}
		a, err := p.primary()
		if err != nil {
			return nil, err
		}
		a, err = p.postfix(a)
		if err != nil {
			return nil, err
		}
		t.args = []expr{a}
	}
	return t, nil
}

func (p *parser) subscript(x expr) (expr, error) {
	t := p.next()
	if t.val == "." {
		a := p.next()
		switch a.kind {
		case tName:
			return &attrExpr{x: x, attr: a.val}, nil
		case tInt:
			i, _ := strconv.ParseInt(a.val, 10, 64)
			return &itemExpr{x: x, key: &constExpr{v: i}}, nil
		}
		return nil, p.errf("expected name or number after '.'")
	}
	// '['
	var keys []expr
	for !p.isOp("]") {
		if len(keys) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
			if p.isOp("]") {
				break
			}
		}
		k, err := p.subscribed()
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	p.next()
	switch len(keys) {
	case 0:
		return nil, p.errf("expected subscript")
	case 1:
		if s, ok := keys[0].(*sliceExpr); ok {
			s.x = x
			return s, nil
		}
		return &itemExpr{x: x, key: keys[0]}, nil
	}
	return &itemExpr{x: x, key: &tupleExpr{items: keys}}, nil
}

func (p *parser) subscribed() (expr, error) {
	var parts [3]expr
	if !p.isOp(":") {
		x, err := p.expression(true)
		if err != nil {
			return nil, err
		}
		if !p.isOp(":") {
			return x, nil
		}
		parts[0] = x
	}
	p.next() // ':'
	if !p.isOp("]") && !p.isOp(",") && !p.isOp(":") {
		x, err := p.expression(true)
		if err != nil {
			return nil, err
		}
		parts[1] = x
	}
	if p.skipOp(":") {
		if !p.isOp("]") && !p.isOp(",") {
			x, err := p.expression(true)
			if err != nil {
				return nil, err
			}
			parts[2] = x
		}
	}
	return &sliceExpr{start: parts[0], stop: parts[1], step: parts[2]}, nil
}

func (p *parser) callArgs() (*callExpr, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	c := &callExpr{}
	first := true
	for !p.isOp(")") {
		if !first {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
			if p.isOp(")") {
				break
			}
		}
		first = false
		switch {
		case p.isOp("*"):
			p.next()
			x, err := p.expression(true)
			if err != nil {
				return nil, err
			}
			c.star = x
		case p.isOp("**"):
			p.next()
			x, err := p.expression(true)
			if err != nil {
				return nil, err
			}
			c.starstar = x
		case p.cur().kind == tName && p.peek().kind == tOp && p.peek().val == "=":
			name := p.next().val
			p.next()
			x, err := p.expression(true)
			if err != nil {
				return nil, err
			}
			c.kwargs = append(c.kwargs, kwExpr{name: name, x: x})
		default:
			if len(c.kwargs) > 0 {
				return nil, p.errf("positional argument follows keyword argument")
			}
			x, err := p.expression(true)
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, x)
		}
	}
	p.next()
	return c, nil
}
