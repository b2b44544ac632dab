package chat

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// RaiseError is the error a template raises with raise_exception(msg),
// typically to reject a conversation it cannot format ("System role not
// supported"). Message is the template's own text.
type RaiseError struct {
	Message string
}

func (e *RaiseError) Error() string { return "chat template error: " + e.Message }

type cycler struct {
	items []any
	pos   int
}

func (c *cycler) attr(name string) (any, bool) {
	switch name {
	case "current":
		return c.items[c.pos], true
	case "next":
		return method("cycler.next", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			v := c.items[c.pos]
			c.pos = (c.pos + 1) % len(c.items)
			return v, nil
		}), true
	case "reset":
		return method("cycler.reset", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			c.pos = 0
			return nil, nil
		}), true
	}
	return nil, false
}

type joiner struct {
	sep  string
	used bool
}

func (j *joiner) call() any {
	if !j.used {
		j.used = true
		return ""
	}
	return j.sep
}

// globals returns the template globals of one render.
func globals(now time.Time) map[string]any {
	return map[string]any{
		"range": method("range", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			if len(kw) > 0 {
				return nil, typeErr("range() takes no keyword arguments")
			}
			var start, stop, step int64 = 0, 0, 1
			ints := make([]int64, len(args))
			for i, a := range args {
				n, ok := isIntLike(a)
				if !ok {
					if u, isU := a.(*undefined); isU {
						return nil, u.fail()
					}
					return nil, typeErr("'%s' object cannot be interpreted as an integer", typeName(a))
				}
				ints[i] = n
			}
			switch len(ints) {
			case 1:
				stop = ints[0]
			case 2:
				start, stop = ints[0], ints[1]
			case 3:
				start, stop, step = ints[0], ints[1], ints[2]
			default:
				return nil, typeErr("range expected at most 3 arguments, got %d", len(ints))
			}
			if step == 0 {
				return nil, &Error{Kind: "ValueError", Message: "range() arg 3 must not be zero"}
			}
			// Count in uint64: stop-start may not fit an int64.
			var n uint64
			if step > 0 && stop > start {
				d, s := uint64(stop)-uint64(start), uint64(step)
				n = d / s
				if d%s != 0 {
					n++
				}
			} else if step < 0 && stop < start {
				d, s := uint64(start)-uint64(stop), -uint64(step)
				n = d / s
				if d%s != 0 {
					n++
				}
			}
			if n > maxRange {
				return nil, &Error{Kind: "OverflowError", Message: fmt.Sprintf("Range too big. The sandbox blocks ranges larger than MAX_RANGE (%d).", maxRange)}
			}
			out := make([]any, n)
			for i := range out {
				out[i] = start + int64(i)*step
			}
			return out, nil
		}),
		"dict": method("dict", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			return makeDict("dict", args, kw)
		}),
		"namespace": method("namespace", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			d, err := makeDict("namespace", args, kw)
			if err != nil {
				return nil, err
			}
			return &namespace{attrs: d}, nil
		}),
		"cycler": method("cycler", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			if len(args) == 0 {
				return nil, typeErr("cycler() needs at least one item")
			}
			return &cycler{items: args}, nil
		}),
		"joiner": method("joiner", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			a, err := bind("joiner", []string{"sep"}, 0, args, kw)
			if err != nil {
				return nil, err
			}
			return &joiner{sep: toStr(argOr(a[0], ", "))}, nil
		}),
		"raise_exception": method("raise_exception", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			a, err := bind("raise_exception", []string{"message"}, 1, args, kw)
			if err != nil {
				return nil, err
			}
			return nil, &RaiseError{Message: toStr(a[0])}
		}),
		"lipsum": method("lipsum", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			return nil, &Error{Kind: "NotImplementedError", Message: "lipsum is not supported"}
		}),
		"strftime_now": method("strftime_now", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			a, err := bind("strftime_now", []string{"format"}, 1, args, kw)
			if err != nil {
				return nil, err
			}
			f, err := strArg("strftime_now", a[0])
			if err != nil {
				return nil, err
			}
			return strftime(now, f), nil
		}),
	}
}

func makeDict(name string, args []any, kw []kwarg) (*dict, error) {
	if len(args) > 1 {
		return nil, typeErr("%s expected at most 1 argument, got %d", name, len(args))
	}
	d := newDict(len(kw))
	if len(args) == 1 {
		switch src := args[0].(type) {
		case *dict:
			for _, k := range src.keys {
				d.set(k, src.val(k))
			}
		default:
			items, err := iterate(src)
			if err != nil {
				return nil, err
			}
			for _, it := range items {
				kv, err := unpack(it, 2)
				if err != nil {
					return nil, err
				}
				if !hashable(kv[0]) {
					return nil, typeErr("unhashable type: '%s'", typeName(kv[0]))
				}
				d.set(kv[0], kv[1])
			}
		}
	}
	for _, k := range kw {
		d.set(k.name, k.v)
	}
	return d, nil
}

var (
	weekdays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	months   = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

// strftime formats t like Python's datetime.strftime in the C locale
// (glibc), for a naive datetime: %z and %Z are empty.
func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		noPad := false
		if f[i] == '-' && i+1 < len(f) {
			noPad = true
			i++
		}
		num := func(n, width int) {
			s := strconv.Itoa(n)
			if !noPad {
				for len(s) < width {
					s = "0" + s
				}
			}
			b.WriteString(s)
		}
		hour12 := t.Hour() % 12
		if hour12 == 0 {
			hour12 = 12
		}
		switch f[i] {
		case 'a':
			b.WriteString(weekdays[t.Weekday()][:3])
		case 'A':
			b.WriteString(weekdays[t.Weekday()])
		case 'b', 'h':
			b.WriteString(months[t.Month()-1][:3])
		case 'B':
			b.WriteString(months[t.Month()-1])
		case 'c':
			b.WriteString(strftime(t, "%a %b %e %H:%M:%S %Y"))
		case 'C':
			num(t.Year()/100, 2)
		case 'd':
			num(t.Day(), 2)
		case 'D':
			b.WriteString(strftime(t, "%m/%d/%y"))
		case 'e':
			if noPad {
				num(t.Day(), 1)
			} else {
				b.WriteString(fmt.Sprintf("%2d", t.Day()))
			}
		case 'F':
			b.WriteString(strftime(t, "%Y-%m-%d"))
		case 'f':
			num(t.Nanosecond()/1000, 6)
		case 'H':
			num(t.Hour(), 2)
		case 'I':
			num(hour12, 2)
		case 'j':
			num(t.YearDay(), 3)
		case 'k':
			b.WriteString(fmt.Sprintf("%2d", t.Hour()))
		case 'l':
			b.WriteString(fmt.Sprintf("%2d", hour12))
		case 'm':
			num(int(t.Month()), 2)
		case 'M':
			num(t.Minute(), 2)
		case 'n':
			b.WriteByte('\n')
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'R':
			b.WriteString(strftime(t, "%H:%M"))
		case 'S':
			num(t.Second(), 2)
		case 't':
			b.WriteByte('\t')
		case 'T', 'X':
			b.WriteString(strftime(t, "%H:%M:%S"))
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			num(wd, 1)
		case 'w':
			num(int(t.Weekday()), 1)
		case 'x':
			b.WriteString(strftime(t, "%m/%d/%y"))
		case 'y':
			num(t.Year()%100, 2)
		case 'Y':
			num(t.Year(), 1)
		case 'G':
			y, _ := t.ISOWeek()
			num(y, 1)
		case 'V':
			_, w := t.ISOWeek()
			num(w, 2)
		case 'U':
			num((t.YearDay()+6-int(t.Weekday()))/7, 2)
		case 'W':
			num((t.YearDay()+6-(int(t.Weekday())+6)%7)/7, 2)
		case 'z', 'Z':
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			if noPad {
				b.WriteByte('-')
			}
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

// ---- tojson: transformers' json.dumps filter ----

func fToJSON(ev *evaluator, v any, args []any, kw []kwarg) (any, error) {
	a, err := bind("tojson", []string{"ensure_ascii", "indent", "separators", "sort_keys"}, 0, args, kw)
	if err != nil {
		return nil, err
	}
	enc := &jsonEncoder{ascii: truthy(argOr(a[0], false)), sortKeys: truthy(argOr(a[3], false))}
	switch ind := argOr(a[1], nil).(type) {
	case nil:
	case string, markup:
		enc.indent, enc.pretty = toStr(ind), true
	default:
		n, err := intArg("tojson", ind)
		if err != nil {
			return nil, err
		}
		enc.indent, enc.pretty = strings.Repeat(" ", max(n, 0)), true
	}
	enc.itemSep, enc.keySep = ", ", ": "
	if enc.pretty {
		enc.itemSep = ","
	}
	if seps := argOr(a[2], nil); seps != nil {
		pair, err := unpack(seps, 2)
		if err != nil {
			return nil, err
		}
		if enc.itemSep, err = strArg("tojson", pair[0]); err != nil {
			return nil, err
		}
		if enc.keySep, err = strArg("tojson", pair[1]); err != nil {
			return nil, err
		}
	}
	if err := enc.value(v, 0); err != nil {
		return nil, err
	}
	return enc.b.String(), nil
}

type jsonEncoder struct {
	b               strings.Builder
	ascii, sortKeys bool
	pretty          bool
	indent          string
	itemSep, keySep string
}

func (e *jsonEncoder) newline(depth int) {
	if e.pretty {
		e.b.WriteByte('\n')
		for range depth {
			e.b.WriteString(e.indent)
		}
	}
}

func (e *jsonEncoder) value(v any, depth int) error {
	if depth > 200 {
		return &Error{Kind: "RecursionError", Message: "maximum recursion depth exceeded while encoding a JSON object"}
	}
	if err := checkSize(e.b.Len()); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		e.b.WriteString("null")
	case bool:
		if x {
			e.b.WriteString("true")
		} else {
			e.b.WriteString("false")
		}
	case int64:
		e.b.WriteString(strconv.FormatInt(x, 10))
	case *big.Int:
		e.b.WriteString(x.String())
	case float64:
		e.b.WriteString(jsonFloat(x))
	case string:
		e.str(x)
	case markup:
		e.str(string(x))
	case []any:
		return e.list(x, depth)
	case tuple:
		return e.list(x, depth)
	case *dict:
		if len(x.keys) == 0 {
			e.b.WriteString("{}")
			return nil
		}
		type kv struct {
			k string
			v any
		}
		items := make([]kv, 0, len(x.keys))
		for _, k := range x.keys {
			var ks string
			switch kk := k.(type) {
			case string:
				ks = kk
			case int64:
				ks = strconv.FormatInt(kk, 10)
			case float64:
				ks = jsonFloat(kk)
			case bool:
				ks = strconv.FormatBool(kk)
			case nil:
				ks = "null"
			default:
				return typeErr("keys must be str, int, float, bool or None, not %s", typeName(k))
			}
			items = append(items, kv{ks, x.val(k)})
		}
		if e.sortKeys {
			sort.SliceStable(items, func(i, j int) bool { return items[i].k < items[j].k })
		}
		e.b.WriteByte('{')
		for i, it := range items {
			if i > 0 {
				e.b.WriteString(e.itemSep)
			}
			e.newline(depth + 1)
			e.str(it.k)
			e.b.WriteString(e.keySep)
			if err := e.value(it.v, depth+1); err != nil {
				return err
			}
		}
		e.newline(depth)
		e.b.WriteByte('}')
	default:
		return typeErr("Object of type %s is not JSON serializable", typeName(v))
	}
	return nil
}

func (e *jsonEncoder) list(x []any, depth int) error {
	if len(x) == 0 {
		e.b.WriteString("[]")
		return nil
	}
	e.b.WriteByte('[')
	for i, it := range x {
		if i > 0 {
			e.b.WriteString(e.itemSep)
		}
		e.newline(depth + 1)
		if err := e.value(it, depth+1); err != nil {
			return err
		}
	}
	e.newline(depth)
	e.b.WriteByte(']')
	return nil
}

func jsonFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return pyFloat(f)
}

func (e *jsonEncoder) str(s string) {
	b := &e.b
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20:
				fmt.Fprintf(b, `\u%04x`, r)
			case e.ascii && r > 0x7e:
				if r > 0xffff {
					r1, r2 := utf16.EncodeRune(r)
					fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
				} else {
					fmt.Fprintf(b, `\u%04x`, r)
				}
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}
