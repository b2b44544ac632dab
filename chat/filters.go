package chat

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

type filterFunc func(ev *evaluator, v any, args []any, kw []kwarg) (any, error)
type testFunc func(ev *evaluator, v any, args []any, kw []kwarg) (bool, error)

// filters and tests are Jinja2 3.1's builtins plus transformers' tojson.
var (
	filters map[string]filterFunc
	tests   map[string]testFunc
)

func init() {
	filters = map[string]filterFunc{
		"abs":         fAbs,
		"attr":        fAttr,
		"batch":       fBatch,
		"capitalize":  strFilter(pyCapitalize),
		"center":      fCenter,
		"count":       fLength,
		"d":           fDefault,
		"default":     fDefault,
		"dictsort":    fDictsort,
		"e":           fEscape,
		"escape":      fEscape,
		"first":       fFirst,
		"float":       fFloat,
		"forceescape": fEscape,
		"format":      fFormat,
		"indent":      fIndent,
		"int":         fInt,
		"items":       fItems,
		"join":        fJoin,
		"last":        fLast,
		"length":      fLength,
		"list":        fList,
		"lower":       strFilter(pyLower),
		"map":         fMap,
		"max":         fMinMax(true),
		"min":         fMinMax(false),
		"pprint":      func(ev *evaluator, v any, args []any, kw []kwarg) (any, error) { return repr(v), nil },
		"reject":      fSelect(false, false),
		"rejectattr":  fSelect(false, true),
		"replace":     fReplace,
		"reverse":     fReverse,
		"round":       fRound,
		"safe":        func(ev *evaluator, v any, args []any, kw []kwarg) (any, error) { return markup(toStr(v)), nil },
		"select":      fSelect(true, false),
		"selectattr":  fSelect(true, true),
		"sort":        fSort,
		"string":      func(ev *evaluator, v any, args []any, kw []kwarg) (any, error) { return sameKind(v, toStr(v)), nil },
		"sum":         fSum,
		"title":       strFilter(jinjaTitle),
		"tojson":      fToJSON,
		"trim":        fTrim,
		"unique":      fUnique,
		"upper":       strFilter(pyUpper),
		"wordcount":   fWordcount,
	}
	tests = map[string]testFunc{
		"boolean":     func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) { _, ok := v.(bool); return ok, nil },
		"callable":    tCallable,
		"defined":     func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) { return !isUndefined(v), nil },
		"divisibleby": tDivisibleby,
		"escaped":     func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) { return false, nil },
		"even":        tOddEven(0),
		"false":       func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) { return v == false, nil },
		"filter": func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) {
			_, ok := filters[toStr(v)]
			return ok, nil
		},
		"float": func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) { _, ok := v.(float64); return ok, nil },
		"in":    tIn,
		"integer": func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) {
			switch v.(type) {
			case int64, *big.Int:
				return true, nil
			}
			return false, nil
		},
		"iterable": tIterable,
		"lower":    func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) { return pyIsLower(toStr(v)), nil },
		"mapping":  func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) { _, ok := v.(*dict); return ok, nil },
		"none":     func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) { return v == nil, nil },
		"number":   func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) { return isNumber(v), nil },
		"odd":      tOddEven(1),
		"sameas":   tSameas,
		"sequence": tSequence,
		"string":   func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) { _, ok := asStr(v); return ok, nil },
		"test": func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) {
			_, ok := tests[toStr(v)]
			return ok, nil
		},
		"true":      func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) { return v == true, nil },
		"undefined": func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) { return isUndefined(v), nil },
		"upper":     func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) { return pyIsUpper(toStr(v)), nil },
	}
	for _, names := range [][]string{{"==", "eq", "equalto"}, {"!=", "ne"}, {"<", "lt", "lessthan"}, {"<=", "le"}, {">", "gt", "greaterthan"}, {">=", "ge"}} {
		op := names[0]
		for _, n := range names {
			tests[n] = func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) {
				b, err := bind(n, []string{"other"}, 1, a, kw)
				if err != nil {
					return false, err
				}
				return compareOp(op, v, b[0])
			}
		}
	}
}

func strFilter(f func(string) string) filterFunc {
	return func(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
		if _, err := bind("filter", nil, 0, args, kw); err != nil {
			return nil, err
		}
		return sameKind(v, f(toStr(v))), nil
	}
}

// jinjaTitle is Jinja's title filter: words start after spaces and
// -({[< characters.
func jinjaTitle(s string) string {
	var b strings.Builder
	start := true
	for _, r := range s {
		if pyIsSpace(r) || strings.ContainsRune("-({[<", r) {
			b.WriteRune(r)
			start = true
			continue
		}
		if start {
			b.WriteString(pyUpper(string(r)))
		} else {
			b.WriteString(pyLower(string(r)))
		}
		start = false
	}
	return b.String()
}

func fAbs(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	switch x := v.(type) {
	case bool:
		i, _ := isIntLike(x)
		return i, nil
	case int64:
		if x < 0 {
			return -x, nil
		}
		return x, nil
	case float64:
		return math.Abs(x), nil
	case *undefined:
		return nil, x.fail()
	}
	return nil, typeErr("bad operand type for abs(): '%s'", typeName(v))
}

func fAttr(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("attr", []string{"name"}, 1, args, kw)
	if err != nil {
		return nil, err
	}
	name, err := strArg("attr", a[0])
	if err != nil {
		return nil, err
	}
	if u, ok := v.(*undefined); ok {
		return nil, u.fail()
	}
	if x, found := pyAttr(v, name); found {
		return x, nil
	}
	return &undefined{obj: v, hasObj: true, name: name}, nil
}

func fBatch(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("batch", []string{"linecount", "fill_with"}, 1, args, kw)
	if err != nil {
		return nil, err
	}
	n, err := intArg("batch", a[0])
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, &Error{Kind: "ValueError", Message: "batch size must be positive"}
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	var out []any
	for i := 0; i < len(items); i += n {
		row := append([]any(nil), items[i:min(i+n, len(items))]...)
		for a[1] != noArg && len(row) < n {
			row = append(row, a[1])
		}
		out = append(out, row)
	}
	return &generator{items: out, kind: "generator"}, nil
}

func fCenter(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("center", []string{"width"}, 0, args, kw)
	if err != nil {
		return nil, err
	}
	w, err := intArg("center", argOr(a[0], int64(80)))
	if err != nil {
		return nil, err
	}
	if err := checkSize(w); err != nil {
		return nil, err
	}
	return sameKind(v, pad(toStr(v), w, " ", "center")), nil
}

func fDefault(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("default", []string{"default_value", "boolean"}, 0, args, kw)
	if err != nil {
		return nil, err
	}
	if isUndefined(v) || (truthy(argOr(a[1], false)) && !truthy(v)) {
		return argOr(a[0], ""), nil
	}
	return v, nil
}

// sortKey lowers strings for case-insensitive sorting.
func sortKey(v any, caseSensitive bool) any {
	if s, ok := asStr(v); ok && !caseSensitive {
		return pyLower(s)
	}
	return v
}

func sortValues(items []any, key func(any) (any, error), reverse bool) error {
	keys := make([]any, len(items))
	for i, it := range items {
		k, err := key(it)
		if err != nil {
			return err
		}
		keys[i] = k
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	var sortErr error
	sort.SliceStable(idx, func(i, j int) bool {
		a, b := keys[idx[i]], keys[idx[j]]
		if reverse {
			a, b = b, a
		}
		c, err := compare(a, b, "<")
		if err != nil && sortErr == nil {
			sortErr = err
		}
		return c < 0
	})
	if sortErr != nil {
		return sortErr
	}
	sorted := make([]any, len(items))
	for i, j := range idx {
		sorted[i] = items[j]
	}
	copy(items, sorted)
	return nil
}

func fDictsort(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("dictsort", []string{"case_sensitive", "by", "reverse"}, 0, args, kw)
	if err != nil {
		return nil, err
	}
	d, ok := v.(*dict)
	if !ok {
		if u, isU := v.(*undefined); isU {
			return nil, u.fail()
		}
		return nil, typeErr("'%s' object has no attribute 'items'", typeName(v))
	}
	cs := truthy(argOr(a[0], false))
	by := toStr(argOr(a[1], "key"))
	pos := 0
	switch by {
	case "key":
	case "value":
		pos = 1
	default:
		return nil, &Error{Kind: "FilterArgumentError", Message: "You can only sort by either \"key\" or \"value\""}
	}
	items := dictItems(d)
	err = sortValues(items, func(it any) (any, error) { return sortKey(it.(tuple)[pos], cs), nil }, truthy(argOr(a[2], false)))
	return items, err
}

func fEscape(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	return escape(v), nil
}

func fFirst(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return &undefined{hint: "No first item, sequence was empty."}, nil
	}
	return items[0], nil
}

func fLast(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	if g, ok := v.(*generator); ok {
		v = g.take()
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return &undefined{hint: "No last item, sequence was empty."}, nil
	}
	return items[len(items)-1], nil
}

func parsePyFloat(s string) (float64, bool) {
	s = strings.TrimFunc(s, pyIsSpace)
	s = strings.ReplaceAll(s, "_", "")
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case "inf", "infinity", "nan":
	default:
		if strings.ContainsAny(strings.ToLower(s), "xpn") {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !strings.Contains(err.Error(), "range") {
		return 0, false
	}
	return f, true
}

func fFloat(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("float", []string{"default"}, 0, args, kw)
	if err != nil {
		return nil, err
	}
	def := argOr(a[0], 0.0)
	switch x := v.(type) {
	case bool, int64, float64:
		return toFloat(x), nil
	case string, markup:
		s, _ := asStr(x)
		if f, ok := parsePyFloat(s); ok {
			return f, nil
		}
	}
	return def, nil
}

func fInt(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("int", []string{"default", "base"}, 0, args, kw)
	if err != nil {
		return nil, err
	}
	def := argOr(a[0], int64(0))
	base, err := intArg("int", argOr(a[1], int64(10)))
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case bool:
		i, _ := isIntLike(x)
		return i, nil
	case int64, *big.Int:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return def, nil
		}
		return int64(x), nil
	case string, markup:
		str, _ := asStr(v)
		s := strings.ReplaceAll(strings.TrimFunc(str, pyIsSpace), "_", "")
		if base == 16 || base == 8 || base == 2 {
			s = strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(s), "0x"), "0o")
			s = strings.TrimPrefix(s, "0b")
		}
		if i, err := strconv.ParseInt(s, base, 64); err == nil {
			return i, nil
		}
		if f, ok := parsePyFloat(str); ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return int64(f), nil
		}
	}
	return def, nil
}

func fItems(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	switch x := v.(type) {
	case *undefined:
		return &generator{kind: "generator"}, nil
	case *dict:
		return &generator{items: dictItems(x), kind: "generator"}, nil
	}
	return nil, typeErr("Can only get item pairs from a mapping.")
}

// attrGetter follows a dotted attribute path the way Jinja's
// make_attrgetter does (getitem for each part, integers as indexes).
func attrGetter(attr any, def any) func(any) (any, error) {
	if attr == nil || attr == noArg {
		return func(v any) (any, error) { return v, nil }
	}
	var parts []any
	if s, ok := attr.(string); ok {
		for _, p := range strings.Split(s, ".") {
			if i, err := strconv.ParseInt(p, 10, 64); err == nil {
				parts = append(parts, i)
			} else {
				parts = append(parts, p)
			}
		}
	} else {
		parts = []any{attr}
	}
	return func(v any) (any, error) {
		var err error
		for _, p := range parts {
			v, err = getItem(v, p)
			if err != nil {
				return nil, err
			}
		}
		if def != noArg && isUndefined(v) {
			return def, nil
		}
		return v, nil
	}
}

func fJoin(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("join", []string{"d", "attribute"}, 0, args, kw)
	if err != nil {
		return nil, err
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	get := attrGetter(a[1], noArg)
	sep := toStr(argOr(a[0], ""))
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteString(sep)
		}
		x, err := get(it)
		if err != nil {
			return nil, err
		}
		b.WriteString(toStr(x))
		if err := checkSize(b.Len()); err != nil {
			return nil, err
		}
	}
	return b.String(), nil
}

func fLength(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	n, err := length(v)
	return int64(n), err
}

func fList(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	return append([]any{}, items...), nil
}

func fMap(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	if !truthy(v) { // Jinja maps only a true value; None maps to nothing
		return &generator{kind: "generator"}, nil
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	var fn func(any) (any, error)
	if len(args) == 0 {
		attr, def := any(noArg), any(noArg)
		for _, k := range kw {
			switch k.name {
			case "attribute":
				attr = k.v
			case "default":
				def = k.v
			default:
				return nil, &Error{Kind: "FilterArgumentError", Message: "Unexpected keyword argument " + pyStrRepr(k.name)}
			}
		}
		if attr == noArg {
			return nil, &Error{Kind: "FilterArgumentError", Message: "map requires a filter argument"}
		}
		fn = attrGetter(attr, def)
	} else {
		name, err := strArg("map", args[0])
		if err != nil {
			return nil, err
		}
		f, ok := filters[name]
		if !ok {
			return nil, &Error{Kind: "TemplateRuntimeError", Message: fmt.Sprintf("No filter named %s.", pyStrRepr(name))}
		}
		rest := args[1:]
		fn = func(x any) (any, error) { return f(ev, x, rest, kw) }
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		x, err := fn(it)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return &generator{items: out, kind: "generator"}, nil
}

func fMinMax(isMax bool) filterFunc {
	return func(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
		a, err := bind("min", []string{"case_sensitive", "attribute"}, 0, args, kw)
		if err != nil {
			return nil, err
		}
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return &undefined{hint: "No aggregated item, sequence was empty."}, nil
		}
		get := attrGetter(a[1], noArg)
		cs := truthy(argOr(a[0], false))
		best := items[0]
		bk, err := get(best)
		if err != nil {
			return nil, err
		}
		bk = sortKey(bk, cs)
		for _, it := range items[1:] {
			k, err := get(it)
			if err != nil {
				return nil, err
			}
			k = sortKey(k, cs)
			c, err := compare(k, bk, "<")
			if err != nil {
				return nil, err
			}
			if (isMax && c > 0) || (!isMax && c < 0) {
				best, bk = it, k
			}
		}
		return best, nil
	}
}

// fSelect builds select, reject, selectattr and rejectattr.
func fSelect(keep, attr bool) filterFunc {
	return func(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
		if !truthy(v) { // Jinja filters only a true value; None gives nothing
			return &generator{kind: "generator"}, nil
		}
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		get := func(x any) (any, error) { return x, nil }
		if attr {
			if len(args) == 0 {
				return nil, &Error{Kind: "FilterArgumentError", Message: "Missing parameter for attribute name"}
			}
			get = attrGetter(args[0], noArg)
			args = args[1:]
		}
		test := func(x any) (bool, error) { return truthy(x), nil }
		if len(args) > 0 {
			name, err := strArg("select", args[0])
			if err != nil {
				return nil, err
			}
			t, ok := tests[name]
			if !ok {
				return nil, &Error{Kind: "TemplateRuntimeError", Message: fmt.Sprintf("No test named %s.", pyStrRepr(name))}
			}
			rest := args[1:]
			test = func(x any) (bool, error) { return t(ev, x, rest, kw) }
		}
		var out []any
		for _, it := range items {
			x, err := get(it)
			if err != nil {
				return nil, err
			}
			ok, err := test(x)
			if err != nil {
				return nil, err
			}
			if ok == keep {
				out = append(out, it)
			}
		}
		return &generator{items: out, kind: "generator"}, nil
	}
}

func fReplace(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("replace", []string{"old", "new", "count"}, 2, args, kw)
	if err != nil {
		return nil, err
	}
	s := toStr(v)
	old, nw := toStr(a[0]), toStr(a[1])
	count := -1
	if a[2] != noArg && a[2] != nil {
		if count, err = intArg("replace", a[2]); err != nil {
			return nil, err
		}
	}
	if err := checkSize(len(s) + strings.Count(s, old)*len(nw)); err != nil {
		return nil, err
	}
	return strings.Replace(s, old, nw, count), nil
}

func fReverse(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	if s, ok := asStr(v); ok {
		r := []rune(s)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return sameKind(v, string(r)), nil
	}
	kind := "list_reverseiterator"
	if _, ok := v.(*dict); ok {
		kind = "dict_reversekeyiterator"
	}
	items, err := iterate(v)
	if err != nil {
		return nil, &Error{Kind: "FilterArgumentError", Message: "argument must be iterable"}
	}
	out := make([]any, len(items))
	for i, it := range items {
		out[len(items)-1-i] = it
	}
	if _, ok := v.(*generator); ok {
		return out, nil
	}
	return &generator{items: out, kind: kind}, nil
}

func fRound(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("round", []string{"precision", "method"}, 0, args, kw)
	if err != nil {
		return nil, err
	}
	prec, err := intArg("round", argOr(a[0], int64(0)))
	if err != nil {
		return nil, err
	}
	if !isNumber(v) {
		return nil, typeErr("type %s doesn't define __round__ method", typeName(v))
	}
	f := toFloat(v)
	p := math.Pow(10, float64(prec))
	switch toStr(argOr(a[1], "common")) {
	case "common":
		x := f * p
		r := math.Round(x)
		// Python rounds half to even on the exact binary value.
		if math.Abs(x-math.Trunc(x)) == 0.5 {
			r = math.RoundToEven(x)
		}
		return r / p, nil
	case "ceil":
		return math.Ceil(f*p) / p, nil
	case "floor":
		return math.Floor(f*p) / p, nil
	}
	return nil, &Error{Kind: "FilterArgumentError", Message: "method must be common, ceil or floor"}
}

func fSort(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("sort", []string{"reverse", "case_sensitive", "attribute"}, 0, args, kw)
	if err != nil {
		return nil, err
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	items = append([]any{}, items...)
	get := attrGetter(a[2], noArg)
	cs := truthy(argOr(a[1], false))
	err = sortValues(items, func(x any) (any, error) {
		k, err := get(x)
		return sortKey(k, cs), err
	}, truthy(argOr(a[0], false)))
	return items, err
}

func fSum(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("sum", []string{"attribute", "start"}, 0, args, kw)
	if err != nil {
		return nil, err
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	get := attrGetter(a[0], noArg)
	total := argOr(a[1], int64(0))
	for _, it := range items {
		x, err := get(it)
		if err != nil {
			return nil, err
		}
		if total, err = binaryOp("+", total, x); err != nil {
			return nil, err
		}
	}
	return total, nil
}

func fTrim(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("trim", []string{"chars"}, 0, args, kw)
	if err != nil {
		return nil, err
	}
	chars, has, err := charsArg("trim", a[0])
	if err != nil {
		return nil, err
	}
	return sameKind(v, pyStrip(toStr(v), chars, has, true, true)), nil
}

func fUnique(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("unique", []string{"case_sensitive", "attribute"}, 0, args, kw)
	if err != nil {
		return nil, err
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	get := attrGetter(a[1], noArg)
	cs := truthy(argOr(a[0], false))
	var seen, out []any
	for _, it := range items {
		k, err := get(it)
		if err != nil {
			return nil, err
		}
		k = sortKey(k, cs)
		if !hashable(k) {
			return nil, typeErr("unhashable type: '%s'", typeName(k))
		}
		if !seqContains(seen, k) {
			seen = append(seen, k)
			out = append(out, it)
		}
	}
	return &generator{items: out, kind: "generator"}, nil
}

func fWordcount(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	n := 0
	in := false
	for _, r := range toStr(v) {
		w := r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= 0x80 && !pyIsSpace(r))
		if w && !in {
			n++
		}
		in = w
	}
	return int64(n), nil
}

func fFormat(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	s := toStr(v)
	if len(kw) > 0 {
		if len(args) > 0 {
			return nil, &Error{Kind: "FilterArgumentError", Message: "can't handle positional and keyword arguments at the same time"}
		}
		d := newDict(len(kw))
		for _, k := range kw {
			d.set(k.name, k.v)
		}
		return formatFilter(v, s, d)
	}
	if len(args) == 1 {
		if d, ok := args[0].(*dict); ok {
			return formatFilter(v, s, d)
		}
	}
	return formatFilter(v, s, tuple(args))
}

func formatFilter(v any, s string, args any) (any, error) {
	if _, ok := v.(markup); ok {
		r, err := percentFormat(s, escapePercentArgs(args))
		if err != nil {
			return nil, err
		}
		return markup(r.(string)), nil
	}
	return percentFormat(s, args)
}

// fIndent is Jinja 3.1's indent filter.
func fIndent(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("indent", []string{"width", "first", "blank"}, 0, args, kw)
	if err != nil {
		return nil, err
	}
	var ind string
	switch w := argOr(a[0], int64(4)).(type) {
	case string:
		ind = w
	default:
		n, err := intArg("indent", w)
		if err != nil {
			return nil, err
		}
		if err := checkSize(n); err != nil {
			return nil, err
		}
		ind = strings.Repeat(" ", max(n, 0))
	}
	s := toStr(v) + "\n"
	lines := pySplitlines(s, false)
	var rv string
	if truthy(argOr(a[2], false)) {
		rv = strings.Join(lines, "\n"+ind)
	} else {
		rv = lines[0]
		if len(lines) > 1 {
			rest := make([]string, len(lines)-1)
			for i, l := range lines[1:] {
				if l != "" {
					l = ind + l
				}
				rest[i] = l
			}
			rv += "\n" + strings.Join(rest, "\n")
		}
	}
	if truthy(argOr(a[1], false)) {
		rv = ind + rv
	}
	return sameKind(v, rv), checkSize(len(rv))
}

// ---- tests ----

func tCallable(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) {
	switch v.(type) {
	case *function, *macro, *undefined, *joiner, *loopObj:
		return true, nil
	}
	return false, nil
}

func tDivisibleby(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) {
	b, err := bind("divisibleby", []string{"num"}, 1, a, kw)
	if err != nil {
		return false, err
	}
	r, err := binaryOp("%", v, b[0])
	if err != nil {
		return false, err
	}
	return equal(r, int64(0)), nil
}

func tOddEven(want int64) testFunc {
	return func(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) {
		r, err := binaryOp("%", v, int64(2))
		if err != nil {
			return false, err
		}
		return equal(r, want), nil
	}
}

func tIn(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) {
	b, err := bind("in", []string{"seq"}, 1, a, kw)
	if err != nil {
		return false, err
	}
	return contains(b[0], v)
}

func tIterable(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) {
	switch v.(type) {
	case string, markup, []any, tuple, *dict, *undefined, *generator:
		return true, nil
	}
	return false, nil
}

func tSequence(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) {
	switch v.(type) {
	case string, markup, []any, tuple, *dict, *undefined:
		return true, nil
	}
	return false, nil
}

func tSameas(ev *evaluator, v any, a []any, kw []kwarg) (bool, error) {
	b, err := bind("sameas", []string{"other"}, 1, a, kw)
	if err != nil {
		return false, err
	}
	o := b[0]
	switch x := v.(type) {
	case nil, bool:
		return v == o, nil
	case int64:
		y, ok := o.(int64)
		return ok && x == y && x >= -5 && x <= 256, nil
	case string:
		y, ok := asStr(o)
		return ok && x == y && utf8.RuneCountInString(x) <= 1, nil
	case []any:
		y, ok := o.([]any)
		return ok && len(x) > 0 && len(y) > 0 && &x[0] == &y[0], nil
	case *dict, *namespace, *undefined, *generator, *macro, *function:
		return v == o, nil
	}
	return false, nil
}
