package chat

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Template values are Go values of these types: nil (None), bool, int64,
// float64, string, []any (list), tuple, *dict, *undefined, *namespace,
// *function, *macro, *loopObj, *generator.

type tuple []any

// dict is a Python dict: keys keep insertion order. Keys are strings,
// int64, float64, bool or nil.
type dict struct {
	keys []any
	m    map[any]any
}

func newDict(n int) *dict { return &dict{m: make(map[any]any, n)} }

// set sets k to v; an equal key already there (1 and True, "a" and
// Markup("a")) keeps its place and its original form, as in Python.
func (d *dict) set(k, v any) {
	h := hashKey(k)
	if _, ok := d.m[h]; !ok {
		d.keys = append(d.keys, k)
	}
	d.m[h] = v
}

// val returns the value of a key listed in d.keys.
func (d *dict) val(k any) any { return d.m[hashKey(k)] }

func (d *dict) get(k any) (any, bool) {
	if !hashable(k) {
		return nil, false
	}
	v, ok := d.m[hashKey(k)]
	return v, ok
}

func hashable(k any) bool {
	switch k.(type) {
	case nil, bool, int64, float64, string, markup:
		return true
	}
	return false
}

// hashKey makes equal numbers share a key, as in Python (1 == 1.0).
func hashKey(k any) any {
	switch x := k.(type) {
	case markup:
		return string(x)
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<62 {
			return int64(x)
		}
	}
	return k
}

type namespace struct{ attrs *dict }

// undefined is Jinja's Undefined: printing it gives "", most other uses
// fail with UndefinedError. unsafe marks the sandbox's refusal of an
// attribute (SecurityError).
type undefined struct {
	name   string
	obj    any
	hasObj bool
	hint   string
	unsafe bool
}

func (u *undefined) message() string {
	if u.hint != "" {
		return u.hint
	}
	if !u.hasObj {
		return fmt.Sprintf("'%s' is undefined", u.name)
	}
	return fmt.Sprintf("'%s' has no attribute '%s'", objectTypeRepr(u.obj), u.name)
}

func (u *undefined) fail() error {
	if u.unsafe {
		return &Error{Kind: "SecurityError", Message: u.message()}
	}
	return &Error{Kind: "UndefinedError", Message: u.message()}
}

func objectTypeRepr(v any) string {
	if v == nil {
		return "None"
	}
	return typeName(v) + " object"
}

// function is a builtin callable (global, filter helper or bound method).
type function struct {
	name string
	fn   func(ev *evaluator, args []any, kw []kwarg) (any, error)
}

type kwarg struct {
	name string
	v    any
}

type macro struct {
	def   *macroDef
	scope *scope
}

// generator stands for Python iterators (results of map, select, ...):
// they iterate once and have no length and no JSON form.
type generator struct {
	items []any
	kind  string
	used  bool
}

func (g *generator) take() []any {
	if g.used {
		return nil
	}
	g.used = true
	return g.items
}

type loopObj struct {
	items   []any
	index0  int
	changed *[]any
	hasLast *bool
}

// Error is a runtime error of a template, named after the Python
// exception the reference implementation raises (UndefinedError,
// TypeError, SecurityError, ...).
type Error struct {
	Kind    string
	Message string
	Line    int
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("chat template: %s: %s (line %d)", e.Kind, e.Message, e.Line)
	}
	return fmt.Sprintf("chat template: %s: %s", e.Kind, e.Message)
}

func typeErr(format string, args ...any) error {
	return &Error{Kind: "TypeError", Message: fmt.Sprintf(format, args...)}
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case markup:
		return "Markup"
	case []any:
		return "list"
	case tuple:
		return "tuple"
	case *dict:
		return "dict"
	case *undefined:
		return "Undefined"
	case *namespace:
		return "Namespace"
	case *function:
		return "builtin_function_or_method"
	case *macro:
		return "Macro"
	case *loopObj:
		return "LoopContext"
	case *generator:
		return v.(*generator).kind
	case *cycler:
		return "Cycler"
	case *joiner:
		return "Joiner"
	}
	return fmt.Sprintf("%T", v)
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case *big.Int:
		return x.Sign() != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case markup:
		return x != ""
	case []any:
		return len(x) > 0
	case tuple:
		return len(x) > 0
	case *dict:
		return len(x.keys) > 0
	case *undefined:
		return false
	}
	return true
}

func isUndefined(v any) bool { _, ok := v.(*undefined); return ok }

// ---- str() and repr() ----

func toStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case markup:
		return string(x)
	case *undefined:
		return ""
	}
	var b strings.Builder
	writeRepr(&b, v, 0)
	return b.String()
}

func repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v, 0)
	return b.String()
}

func writeRepr(b *strings.Builder, v any, depth int) {
	if depth > 100 {
		b.WriteString("...")
		return
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case *big.Int:
		b.WriteString(x.String())
	case float64:
		b.WriteString(pyFloat(x))
	case string:
		b.WriteString(pyStrRepr(x))
	case markup:
		b.WriteString("Markup(" + pyStrRepr(string(x)) + ")")
	case []any:
		b.WriteByte('[')
		for i, it := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, it, depth+1)
		}
		b.WriteByte(']')
	case tuple:
		b.WriteByte('(')
		for i, it := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, it, depth+1)
		}
		if len(x) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case *dict:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, k, depth+1)
			b.WriteString(": ")
			writeRepr(b, x.val(k), depth+1)
		}
		b.WriteByte('}')
	case *undefined:
		b.WriteString("Undefined")
	case *namespace:
		b.WriteString("<Namespace ")
		writeRepr(b, x.attrs, depth+1)
		b.WriteByte('>')
	case *function:
		fmt.Fprintf(b, "<built-in method %s>", x.name)
	case *macro:
		fmt.Fprintf(b, "<Macro '%s'>", x.def.name)
	case *generator:
		fmt.Fprintf(b, "<%s object>", x.kind)
	case *loopObj:
		fmt.Fprintf(b, "<LoopContext %d/%d>", x.index0+1, len(x.items))
	default:
		fmt.Fprintf(b, "<%s object>", typeName(v))
	}
}

// pyStrRepr is Python's repr() of a str.
func pyStrRepr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x7f:
			b.WriteRune(r)
		case r == utf8.RuneError || !unicode.IsPrint(r):
			switch {
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyFloat is Python's repr() of a float.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // -d.ddde±XX
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	var out string
	if exp >= -5 && exp < 16 && !(exp == -5) {
		if exp < 0 {
			out = "0." + strings.Repeat("0", -exp-1) + digits
		} else if len(digits) <= exp+1 {
			out = digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
		} else {
			out = digits[:exp+1] + "." + digits[exp+1:]
		}
	} else {
		out = digits[:1]
		if len(digits) > 1 {
			out += "." + digits[1:]
		}
		sign := "+"
		if exp < 0 {
			sign = "-"
			exp = -exp
		}
		out += fmt.Sprintf("e%s%02d", sign, exp)
	}
	if neg {
		out = "-" + out
	}
	return out
}

// ---- comparison ----

func isNumber(v any) bool {
	switch v.(type) {
	case bool, int64, float64, *big.Int:
		return true
	}
	return false
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case bool:
		if x {
			return 1
		}
		return 0
	case int64:
		return float64(x)
	case float64:
		return x
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f
	}
	return 0
}

func isIntLike(v any) (int64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case int64:
		return x, true
	}
	return 0, false
}

func equal(a, b any) bool {
	return equalDepth(a, b, 0)
}

func equalDepth(a, b any, depth int) bool {
	if depth > 100 {
		return false
	}
	if isNumber(a) && isNumber(b) {
		ai, aok := isIntLike(a)
		bi, bok := isIntLike(b)
		if aok && bok {
			return ai == bi
		}
		return toFloat(a) == toFloat(b)
	}
	if x, ok := asStr(a); ok {
		y, ok := asStr(b)
		return ok && x == y
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case []any:
		y, ok := b.([]any)
		return ok && seqEqual(x, y, depth)
	case tuple:
		y, ok := b.(tuple)
		return ok && seqEqual(x, y, depth)
	case *dict:
		y, ok := b.(*dict)
		if !ok || len(x.keys) != len(y.keys) {
			return false
		}
		for _, k := range x.keys {
			yv, ok := y.get(k)
			if !ok || !equalDepth(x.val(k), yv, depth+1) {
				return false
			}
		}
		return true
	case *undefined:
		_, ok := b.(*undefined)
		return ok
	}
	return a == b
}

func seqEqual(x, y []any, depth int) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !equalDepth(x[i], y[i], depth+1) {
			return false
		}
	}
	return true
}

// compare orders a and b as Python's <, failing with TypeError for types
// that have no order.
func compare(a, b any, op string) (int, error) { return compareDepth(a, b, op, 0) }

func compareDepth(a, b any, op string, depth int) (int, error) {
	if depth > 100 {
		return 0, &Error{Kind: "RecursionError", Message: "maximum recursion depth exceeded in comparison"}
	}
	if isNumber(a) && isNumber(b) {
		ai, aok := isIntLike(a)
		bi, bok := isIntLike(b)
		if aok && bok {
			return cmpOrdered(ai, bi), nil
		}
		fa, fb := toFloat(a), toFloat(b)
		return cmpOrdered(fa, fb), nil
	}
	if u, ok := a.(*undefined); ok {
		return 0, u.fail()
	}
	if u, ok := b.(*undefined); ok {
		return 0, u.fail()
	}
	if x, ok := asStr(a); ok {
		if y, ok := asStr(b); ok {
			return strings.Compare(x, y), nil
		}
	}
	switch x := a.(type) {
	case []any:
		if y, ok := b.([]any); ok {
			return compareSeq(x, y, op, depth)
		}
	case tuple:
		if y, ok := b.(tuple); ok {
			return compareSeq(x, y, op, depth)
		}
	}
	return 0, typeErr("'%s' not supported between instances of '%s' and '%s'", op, typeName(a), typeName(b))
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareSeq(x, y []any, op string, depth int) (int, error) {
	for i := 0; i < len(x) && i < len(y); i++ {
		if equal(x[i], y[i]) {
			continue
		}
		return compareDepth(x[i], y[i], op, depth+1)
	}
	return cmpOrdered(int64(len(x)), int64(len(y))), nil
}

// contains is Python's "item in container".
func contains(container, item any) (bool, error) {
	if c, ok := asStr(container); ok {
		s, ok := asStr(item)
		if !ok {
			if u, ok := item.(*undefined); ok {
				return false, u.fail()
			}
			return false, typeErr("'in <string>' requires string as left operand, not %s", typeName(item))
		}
		return strings.Contains(c, s), nil
	}
	switch c := container.(type) {
	case []any:
		return seqContains(c, item), nil
	case tuple:
		return seqContains(c, item), nil
	case *dict:
		if _, isU := item.(*undefined); !hashable(item) && !isU {
			return false, typeErr("unhashable type: '%s'", typeName(item))
		}
		_, ok := c.get(item)
		return ok, nil
	case *undefined:
		return false, nil
	case *generator:
		return seqContains(c.take(), item), nil
	}
	return false, typeErr("argument of type '%s' is not iterable", typeName(container))
}

func seqContains(s []any, item any) bool {
	for _, v := range s {
		if equal(v, item) {
			return true
		}
	}
	return false
}

// iterate lists the items a for loop sees.
func iterate(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case tuple:
		return x, nil
	case *dict:
		return append([]any(nil), x.keys...), nil
	case string, markup:
		s, _ := asStr(x)
		out := make([]any, 0, len(s))
		for _, r := range s {
			out = append(out, string(r))
		}
		return out, nil
	case *undefined:
		if x.unsafe {
			return nil, x.fail()
		}
		return nil, nil
	case *generator:
		return x.take(), nil
	}
	return nil, typeErr("'%s' object is not iterable", typeName(v))
}

// length is Python's len().
func length(v any) (int, error) {
	switch x := v.(type) {
	case string:
		return utf8.RuneCountInString(x), nil
	case markup:
		return utf8.RuneCountInString(string(x)), nil
	case []any:
		return len(x), nil
	case tuple:
		return len(x), nil
	case *dict:
		return len(x.keys), nil
	case *undefined:
		return 0, nil
	}
	return 0, typeErr("object of type '%s' has no len()", typeName(v))
}

// ---- conversion of Go input ----

// fromGo converts render input into template values. Maps without key
// order get their keys sorted.
func fromGo(v any, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("chat: input nested too deeply")
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool:
		return x, nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case uint:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	case *big.Int:
		return x, nil
	case string:
		return x, nil
	case []byte:
		// json.RawMessage and raw JSON bytes.
		p, err := ParseJSON(x)
		if err != nil {
			return nil, err
		}
		return fromGo(p, depth+1)
	case *Object:
		if x == nil {
			return nil, nil
		}
		d := newDict(len(x.keys))
		for _, k := range x.keys {
			cv, err := fromGo(x.vals[k], depth+1)
			if err != nil {
				return nil, err
			}
			d.set(k, cv)
		}
		return d, nil
	case Object:
		return fromGo(&x, depth)
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			cv, err := fromGo(it, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = cv
		}
		return out, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := newDict(len(keys))
		for _, k := range keys {
			cv, err := fromGo(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			d.set(k, cv)
		}
		return d, nil
	}
	// Named types, other slices and string-keyed maps.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, nil
		}
		return fromGo(rv.Elem().Interface(), depth+1)
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return int64(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			return fromGo(rv.Bytes(), depth)
		}
		out := make([]any, rv.Len())
		for i := range out {
			cv, err := fromGo(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = cv
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		keys := make([]string, 0, rv.Len())
		for _, k := range rv.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		d := newDict(len(keys))
		for _, k := range keys {
			cv, err := fromGo(rv.MapIndex(reflect.ValueOf(k).Convert(rv.Type().Key())).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			d.set(k, cv)
		}
		return d, nil
	}
	return nil, fmt.Errorf("chat: unsupported input type %T", v)
}
