package chat

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// argument binding for builtins

// noArg marks a parameter the caller left out.
type noArgT struct{}

var noArg any = noArgT{}

// bind matches positional and keyword arguments to parameter names, as
// Python does; missing optional parameters are noArg.
func bind(fname string, names []string, required int, args []any, kw []kwarg) ([]any, error) {
	if len(args) > len(names) {
		return nil, typeErr("%s() takes at most %d arguments (%d given)", fname, len(names), len(args))
	}
	out := make([]any, len(names))
	for i := range out {
		out[i] = noArg
	}
	copy(out, args)
	for _, k := range kw {
		found := false
		for i, n := range names {
			if n == k.name {
				if i < len(args) {
					return nil, typeErr("%s() got multiple values for argument '%s'", fname, n)
				}
				out[i] = k.v
				found = true
				break
			}
		}
		if !found {
			return nil, typeErr("%s() got an unexpected keyword argument '%s'", fname, k.name)
		}
	}
	for i := 0; i < required; i++ {
		if out[i] == noArg {
			return nil, typeErr("%s() missing required argument '%s'", fname, names[i])
		}
	}
	return out, nil
}

func argOr(v, def any) any {
	if v == noArg {
		return def
	}
	return v
}

func strArg(fname string, v any) (string, error) {
	s, ok := asStr(v)
	if !ok {
		if u, isU := v.(*undefined); isU {
			return "", u.fail()
		}
		return "", typeErr("%s() argument must be str, not %s", fname, typeName(v))
	}
	return s, nil
}

func intArg(fname string, v any) (int, error) {
	i, ok := isIntLike(v)
	if !ok {
		if u, isU := v.(*undefined); isU {
			return 0, u.fail()
		}
		return 0, typeErr("%s(): '%s' object cannot be interpreted as an integer", fname, typeName(v))
	}
	return int(i), nil
}

// optional chars argument of strip and friends: None means whitespace
func charsArg(fname string, v any) (string, bool, error) {
	if v == noArg || v == nil {
		return "", false, nil
	}
	s, err := strArg(fname, v)
	return s, true, err
}

func pyStrip(s, chars string, hasChars, left, right bool) string {
	if hasChars {
		if left {
			s = strings.TrimLeft(s, chars)
		}
		if right {
			s = strings.TrimRight(s, chars)
		}
		return s
	}
	if left {
		s = strings.TrimLeftFunc(s, pyIsSpace)
	}
	if right {
		s = strings.TrimRightFunc(s, pyIsSpace)
	}
	return s
}

func strList(parts []string) []any {
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

// pySplit is str.split / str.rsplit.
func pySplit(s string, sep any, maxsplit int, right bool) ([]any, error) {
	if sep == nil || sep == noArg {
		var fields []string
		if maxsplit < 0 {
			fields = strings.FieldsFunc(s, pyIsSpace)
			return strList(fields), nil
		}
		if right {
			t := strings.TrimRightFunc(s, pyIsSpace)
			for len(t) > 0 && maxsplit > 0 {
				i := strings.LastIndexFunc(t, pyIsSpace)
				if i < 0 {
					break
				}
				_, size := utf8.DecodeRuneInString(t[i:])
				fields = append([]string{t[i+size:]}, fields...)
				t = strings.TrimRightFunc(t[:i], pyIsSpace)
				maxsplit--
			}
			if t != "" {
				fields = append([]string{t}, fields...)
			}
			return strList(fields), nil
		}
		t := strings.TrimLeftFunc(s, pyIsSpace)
		for len(t) > 0 && maxsplit > 0 {
			i := strings.IndexFunc(t, pyIsSpace)
			if i < 0 {
				break
			}
			fields = append(fields, t[:i])
			t = strings.TrimLeftFunc(t[i:], pyIsSpace)
			maxsplit--
		}
		if t != "" {
			fields = append(fields, t)
		}
		return strList(fields), nil
	}
	sp, err := strArg("split", sep)
	if err != nil {
		return nil, err
	}
	if sp == "" {
		return nil, &Error{Kind: "ValueError", Message: "empty separator"}
	}
	if maxsplit < 0 {
		return strList(strings.Split(s, sp)), nil
	}
	if !right {
		return strList(strings.SplitN(s, sp, maxsplit+1)), nil
	}
	var parts []string
	t := s
	for maxsplit > 0 {
		i := strings.LastIndex(t, sp)
		if i < 0 {
			break
		}
		parts = append([]string{t[i+len(sp):]}, parts...)
		t = t[:i]
		maxsplit--
	}
	return strList(append([]string{t}, parts...)), nil
}

func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// pySplitlines is str.splitlines.
func pySplitlines(s string, keepends bool) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isLineBreak(r) {
			i += size
			continue
		}
		end := i + size
		if r == '\r' && end < len(s) && s[end] == '\n' {
			end++
		}
		if keepends {
			out = append(out, s[start:end])
		} else {
			out = append(out, s[start:i])
		}
		start = end
		i = end
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func pyTitle(s string) string {
	var b strings.Builder
	prevCased := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			if prevCased {
				b.WriteString(pyLower(string(r)))
			} else {
				pyTitleRune(&b, r)
			}
			prevCased = isCased(r)
		} else {
			b.WriteRune(r)
			prevCased = false
		}
	}
	return b.String()
}

func pyCapitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	var b strings.Builder
	pyTitleRune(&b, r)
	return b.String() + pyLower(s[size:])
}

func hasCased(s string, pred func(rune) bool, other func(rune) bool) bool {
	cased := false
	for _, r := range s {
		if other(r) {
			return false
		}
		if pred(r) {
			cased = true
		}
	}
	return cased
}

func pyIsLower(s string) bool {
	return hasCased(s, unicode.IsLower, func(r rune) bool { return unicode.IsUpper(r) || unicode.IsTitle(r) })
}

func pyIsUpper(s string) bool {
	return hasCased(s, unicode.IsUpper, func(r rune) bool { return unicode.IsLower(r) || unicode.IsTitle(r) })
}

func allRunes(s string, pred func(rune) bool) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !pred(r) {
			return false
		}
	}
	return true
}

// runeIndex converts a byte offset in s to a character offset.
func runeIndex(s string, byteOff int) int64 {
	if byteOff < 0 {
		return -1
	}
	return int64(utf8.RuneCountInString(s[:byteOff]))
}

// subRange applies optional start and end character positions to s and
// returns the substring and the byte offset where it starts.
func subRange(s string, start, end any) (string, int, error) {
	r := []rune(s)
	var b [3]any
	if start != noArg {
		b[0] = start
	}
	if end != noArg {
		b[1] = end
	}
	idx, err := sliceIndices(b, len(r))
	if err != nil {
		return "", 0, err
	}
	if len(idx) == 0 {
		// Python still matches "" at a valid start.
		lo := 0
		if len(r) > 0 || b[0] != nil {
			if b[0] != nil {
				i, _ := isIntLike(b[0])
				lo = int(i)
				if lo < 0 {
					lo += len(r)
				}
				lo = max(0, lo)
			}
		}
		if lo > len(r) {
			return "", -1, nil
		}
		return "", len(string(r[:lo])), nil
	}
	lo, hi := idx[0], idx[len(idx)-1]+1
	return string(r[lo:hi]), len(string(r[:lo])), nil
}

func affixMatch(s string, arg any, start, end any, suffix bool) (bool, error) {
	sub, off, err := subRange(s, start, end)
	if err != nil {
		return false, err
	}
	if off < 0 {
		return false, nil
	}
	var cands []any
	switch a := arg.(type) {
	case string, markup:
		cands = []any{a}
	case tuple:
		cands = a
	default:
		name := "startswith"
		if suffix {
			name = "endswith"
		}
		if u, ok := arg.(*undefined); ok {
			return false, u.fail()
		}
		return false, typeErr("%s first arg must be str or a tuple of str, not %s", name, typeName(arg))
	}
	for _, c := range cands {
		cs, err := strArg("startswith", c)
		if err != nil {
			return false, err
		}
		if (!suffix && strings.HasPrefix(sub, cs)) || (suffix && strings.HasSuffix(sub, cs)) {
			return true, nil
		}
	}
	return false, nil
}

func pad(s string, width int, fill string, where string) string {
	n := utf8.RuneCountInString(s)
	if width <= n {
		return s
	}
	total := width - n
	switch where {
	case "left": // ljust
		return s + strings.Repeat(fill, total)
	case "right": // rjust
		return strings.Repeat(fill, total) + s
	}
	left := total / 2
	if total%2 == 1 && width%2 == 1 {
		left++
	}
	return strings.Repeat(fill, left) + s + strings.Repeat(fill, total-left)
}

func strMethod(s string, name string) (any, bool) {
	m := func(params []string, required int, fn func(a []any) (any, error)) (any, bool) {
		return method("str."+name, func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			a, err := bind(name, params, required, args, kw)
			if err != nil {
				return nil, err
			}
			return fn(a)
		}), true
	}
	switch name {
	case "strip", "lstrip", "rstrip":
		return m([]string{"chars"}, 0, func(a []any) (any, error) {
			chars, has, err := charsArg(name, a[0])
			if err != nil {
				return nil, err
			}
			return pyStrip(s, chars, has, name != "rstrip", name != "lstrip"), nil
		})
	case "split", "rsplit":
		return m([]string{"sep", "maxsplit"}, 0, func(a []any) (any, error) {
			maxsplit := -1
			if a[1] != noArg {
				var err error
				if maxsplit, err = intArg(name, a[1]); err != nil {
					return nil, err
				}
			}
			return pySplit(s, a[0], maxsplit, name == "rsplit")
		})
	case "splitlines":
		return m([]string{"keepends"}, 0, func(a []any) (any, error) {
			return strList(pySplitlines(s, truthy(argOr(a[0], false)))), nil
		})
	case "startswith", "endswith":
		return m([]string{"prefix", "start", "end"}, 1, func(a []any) (any, error) {
			return affixMatch(s, a[0], a[1], a[2], name == "endswith")
		})
	case "replace":
		return m([]string{"old", "new", "count"}, 2, func(a []any) (any, error) {
			old, err := strArg(name, a[0])
			if err != nil {
				return nil, err
			}
			nw, err := strArg(name, a[1])
			if err != nil {
				return nil, err
			}
			count := -1
			if a[2] != noArg {
				if count, err = intArg(name, a[2]); err != nil {
					return nil, err
				}
			}
			if old != "" && nw != "" {
				if err := checkSize(len(s) + strings.Count(s, old)*len(nw)); err != nil {
					return nil, err
				}
			}
			return strings.Replace(s, old, nw, count), nil
		})
	case "upper":
		return m(nil, 0, func([]any) (any, error) { return pyUpper(s), nil })
	case "lower", "casefold":
		return m(nil, 0, func([]any) (any, error) { return pyLower(s), nil })
	case "title":
		return m(nil, 0, func([]any) (any, error) { return pyTitle(s), nil })
	case "capitalize":
		return m(nil, 0, func([]any) (any, error) { return pyCapitalize(s), nil })
	case "swapcase":
		return m(nil, 0, func([]any) (any, error) {
			return strings.Map(func(r rune) rune {
				if unicode.IsUpper(r) {
					return unicode.ToLower(r)
				}
				return unicode.ToUpper(r)
			}, s), nil
		})
	case "find", "rfind", "index", "rindex", "count":
		return m([]string{"sub", "start", "end"}, 1, func(a []any) (any, error) {
			sub, err := strArg(name, a[0])
			if err != nil {
				return nil, err
			}
			hay, off, err := subRange(s, a[1], a[2])
			if err != nil {
				return nil, err
			}
			if name == "count" {
				if off < 0 {
					return int64(0), nil
				}
				if sub == "" {
					return int64(utf8.RuneCountInString(hay) + 1), nil
				}
				return int64(strings.Count(hay, sub)), nil
			}
			i := -1
			if off >= 0 {
				if name == "find" || name == "index" {
					i = strings.Index(hay, sub)
				} else {
					i = strings.LastIndex(hay, sub)
				}
			}
			if i < 0 {
				if name == "index" || name == "rindex" {
					return nil, &Error{Kind: "ValueError", Message: "substring not found"}
				}
				return int64(-1), nil
			}
			return runeIndex(s, off+i), nil
		})
	case "join":
		return m([]string{"iterable"}, 1, func(a []any) (any, error) {
			items, err := iterate(a[0])
			if err != nil {
				return nil, err
			}
			parts := make([]string, len(items))
			for i, it := range items {
				p, ok := asStr(it)
				if !ok {
					return nil, typeErr("sequence item %d: expected str instance, %s found", i, typeName(it))
				}
				parts[i] = p
			}
			return strings.Join(parts, s), nil
		})
	case "format":
		return method("str.format", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			return strFormat(s, args, kw)
		}), true
	case "isdigit", "isdecimal", "isnumeric":
		return m(nil, 0, func([]any) (any, error) { return allRunes(s, unicode.IsDigit), nil })
	case "isalpha":
		return m(nil, 0, func([]any) (any, error) { return allRunes(s, unicode.IsLetter), nil })
	case "isalnum":
		return m(nil, 0, func([]any) (any, error) {
			return allRunes(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }), nil
		})
	case "isspace":
		return m(nil, 0, func([]any) (any, error) { return allRunes(s, pyIsSpace), nil })
	case "islower":
		return m(nil, 0, func([]any) (any, error) { return pyIsLower(s), nil })
	case "isupper":
		return m(nil, 0, func([]any) (any, error) { return pyIsUpper(s), nil })
	case "istitle":
		return m(nil, 0, func([]any) (any, error) { return s != "" && pyTitle(s) == s && strings.ToLower(s) != s, nil })
	case "zfill":
		return m([]string{"width"}, 1, func(a []any) (any, error) {
			w, err := intArg(name, a[0])
			if err != nil {
				return nil, err
			}
			n := utf8.RuneCountInString(s)
			if w <= n {
				return s, nil
			}
			sign := ""
			rest := s
			if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
				sign, rest = s[:1], s[1:]
			}
			return sign + strings.Repeat("0", w-n) + rest, nil
		})
	case "center", "ljust", "rjust":
		return m([]string{"width", "fillchar"}, 1, func(a []any) (any, error) {
			w, err := intArg(name, a[0])
			if err != nil {
				return nil, err
			}
			if err := checkSize(w); err != nil {
				return nil, err
			}
			fill := " "
			if a[1] != noArg {
				if fill, err = strArg(name, a[1]); err != nil {
					return nil, err
				}
				if utf8.RuneCountInString(fill) != 1 {
					return nil, typeErr("The fill character must be exactly one character long")
				}
			}
			where := map[string]string{"center": "center", "ljust": "left", "rjust": "right"}[name]
			return pad(s, w, fill, where), nil
		})
	case "partition", "rpartition":
		return m([]string{"sep"}, 1, func(a []any) (any, error) {
			sep, err := strArg(name, a[0])
			if err != nil {
				return nil, err
			}
			if sep == "" {
				return nil, &Error{Kind: "ValueError", Message: "empty separator"}
			}
			var i int
			if name == "partition" {
				i = strings.Index(s, sep)
				if i < 0 {
					return tuple{s, "", ""}, nil
				}
			} else {
				i = strings.LastIndex(s, sep)
				if i < 0 {
					return tuple{"", "", s}, nil
				}
			}
			return tuple{s[:i], sep, s[i+len(sep):]}, nil
		})
	case "removeprefix", "removesuffix":
		return m([]string{"affix"}, 1, func(a []any) (any, error) {
			x, err := strArg(name, a[0])
			if err != nil {
				return nil, err
			}
			if name == "removeprefix" {
				return strings.TrimPrefix(s, x), nil
			}
			return strings.TrimSuffix(s, x), nil
		})
	}
	return nil, false
}

func dictMethod(d *dict, name string) (any, bool) {
	m := func(params []string, required int, fn func(a []any) (any, error)) (any, bool) {
		return method("dict."+name, func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			a, err := bind(name, params, required, args, kw)
			if err != nil {
				return nil, err
			}
			return fn(a)
		}), true
	}
	switch name {
	case "items":
		return m(nil, 0, func([]any) (any, error) { return dictItems(d), nil })
	case "keys":
		return m(nil, 0, func([]any) (any, error) { return append([]any(nil), d.keys...), nil })
	case "values":
		return m(nil, 0, func([]any) (any, error) {
			out := make([]any, len(d.keys))
			for i, k := range d.keys {
				out[i] = d.val(k)
			}
			return out, nil
		})
	case "get":
		return m([]string{"key", "default"}, 1, func(a []any) (any, error) {
			if _, isU := a[0].(*undefined); !hashable(a[0]) && !isU {
				return nil, typeErr("unhashable type: '%s'", typeName(a[0]))
			}
			if v, ok := d.get(a[0]); ok {
				return v, nil
			}
			return argOr(a[1], nil), nil
		})
	case "copy":
		return m(nil, 0, func([]any) (any, error) {
			c := newDict(len(d.keys))
			for _, k := range d.keys {
				c.set(k, d.val(k))
			}
			return c, nil
		})
	case "pop", "popitem", "setdefault", "update", "clear":
		return unsafeAttr(d, name), true
	}
	return nil, false
}

func dictItems(d *dict) []any {
	out := make([]any, len(d.keys))
	for i, k := range d.keys {
		out[i] = tuple{k, d.val(k)}
	}
	return out
}

func seqMethod(s []any, typ, name string) (any, bool) {
	switch name {
	case "index", "count":
		return method(typ+"."+name, func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			a, err := bind(name, []string{"value"}, 1, args, kw)
			if err != nil {
				return nil, err
			}
			n := int64(0)
			for i, v := range s {
				if equal(v, a[0]) {
					if name == "index" {
						return int64(i), nil
					}
					n++
				}
			}
			if name == "index" {
				return nil, &Error{Kind: "ValueError", Message: fmt.Sprintf("%s is not in %s", repr(a[0]), typ)}
			}
			return n, nil
		}), true
	}
	return nil, false
}

func listMethod(l []any, name string) (any, bool) {
	switch name {
	case "append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear":
		return unsafeAttr(l, name), true
	case "copy":
		return method("list.copy", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			return append([]any(nil), l...), nil
		}), true
	}
	return seqMethod(l, "list", name)
}

func tupleMethod(t tuple, name string) (any, bool) {
	return seqMethod(t, "tuple", name)
}

// strFormat is str.format for the common replacement fields: {}, {0},
// {name}, {name.attr}, {name[key]}, !r / !s and simple format specs.
func strFormat(s string, args []any, kw []kwarg) (any, error) {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '}' {
			if i+1 < len(s) && s[i+1] == '}' {
				i++
			}
			b.WriteByte('}')
			continue
		}
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '{' {
			b.WriteByte('{')
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return nil, &Error{Kind: "ValueError", Message: "Single '{' encountered in format string"}
		}
		field := s[i+1 : i+end]
		i += end
		spec := ""
		if j := strings.IndexByte(field, ':'); j >= 0 {
			field, spec = field[:j], field[j+1:]
		}
		conv := ""
		if j := strings.IndexByte(field, '!'); j >= 0 {
			field, conv = field[:j], field[j+1:]
		}
		name := field
		rest := ""
		if j := strings.IndexAny(field, ".["); j >= 0 {
			name, rest = field[:j], field[j:]
		}
		var v any
		switch {
		case name == "":
			if auto >= len(args) {
				return nil, &Error{Kind: "IndexError", Message: "Replacement index out of range"}
			}
			v = args[auto]
			auto++
		case name[0] >= '0' && name[0] <= '9':
			n, err := strconv.Atoi(name)
			if err != nil || n >= len(args) {
				return nil, &Error{Kind: "IndexError", Message: "Replacement index out of range"}
			}
			v = args[n]
		default:
			found := false
			for _, k := range kw {
				if k.name == name {
					v, found = k.v, true
				}
			}
			if !found {
				return nil, &Error{Kind: "KeyError", Message: pyStrRepr(name)}
			}
		}
		for rest != "" {
			var err error
			if rest[0] == '.' {
				j := strings.IndexAny(rest[1:], ".[")
				if j < 0 {
					j = len(rest) - 1
				}
				v, err = getAttr(v, rest[1:1+j])
				rest = rest[1+j:]
			} else {
				j := strings.IndexByte(rest, ']')
				if j < 0 {
					return nil, &Error{Kind: "ValueError", Message: "Missing ']' in format string"}
				}
				key := rest[1:j]
				var k any = key
				if n, e := strconv.Atoi(key); e == nil {
					k = int64(n)
				}
				v, err = getItem(v, k)
				rest = rest[j+1:]
			}
			if err != nil {
				return nil, err
			}
		}
		var str string
		switch conv {
		case "r", "a":
			str = repr(v)
		default:
			if spec != "" {
				out, err := formatSpec(v, spec)
				if err != nil {
					return nil, err
				}
				b.WriteString(out)
				continue
			}
			str = toStr(v)
		}
		if spec != "" {
			out, err := formatSpec(str, spec)
			if err != nil {
				return nil, err
			}
			str = out
		}
		b.WriteString(str)
	}
	return b.String(), nil
}

// formatSpec handles [[fill]align][sign][0][width][.precision][type].
func formatSpec(v any, spec string) (string, error) {
	fill, align := " ", byte(0)
	if len(spec) >= 2 && strings.IndexByte("<>^=", spec[1]) >= 0 {
		fill, align, spec = spec[:1], spec[1], spec[2:]
	} else if len(spec) >= 1 && strings.IndexByte("<>^=", spec[0]) >= 0 {
		align, spec = spec[0], spec[1:]
	}
	sign := ""
	if spec != "" && strings.IndexByte("+- ", spec[0]) >= 0 {
		sign, spec = spec[:1], spec[1:]
	}
	if strings.HasPrefix(spec, "0") && align == 0 {
		fill, align = "0", '='
		spec = spec[1:]
	}
	i := 0
	for i < len(spec) && spec[i] >= '0' && spec[i] <= '9' {
		i++
	}
	width, _ := strconv.Atoi(spec[:i])
	spec = spec[i:]
	prec := -1
	if strings.HasPrefix(spec, ".") {
		j := 1
		for j < len(spec) && spec[j] >= '0' && spec[j] <= '9' {
			j++
		}
		prec, _ = strconv.Atoi(spec[1:j])
		spec = spec[j:]
	}
	typ := spec
	var out string
	numeric := isNumber(v)
	switch typ {
	case "", "s":
		if s, ok := asStr(v); ok {
			out = s
			if prec >= 0 && utf8.RuneCountInString(s) > prec {
				out = string([]rune(s)[:prec])
			}
		} else if numeric && prec >= 0 {
			out = strconv.FormatFloat(toFloat(v), 'g', prec, 64)
		} else {
			out = toStr(v)
		}
	case "d":
		n, ok := isIntLike(v)
		if !ok {
			return "", &Error{Kind: "ValueError", Message: fmt.Sprintf("Unknown format code 'd' for object of type '%s'", typeName(v))}
		}
		out = strconv.FormatInt(n, 10)
	case "f", "F", "e", "E", "g", "G", "%":
		if !numeric {
			return "", &Error{Kind: "ValueError", Message: fmt.Sprintf("Unknown format code '%s' for object of type '%s'", typ, typeName(v))}
		}
		if prec < 0 {
			prec = 6
		}
		f := toFloat(v)
		if typ == "%" {
			out = strconv.FormatFloat(f*100, 'f', prec, 64) + "%"
		} else {
			out = strconv.FormatFloat(f, typ[0], prec, 64)
		}
	case "x", "X", "o", "b":
		n, ok := isIntLike(v)
		if !ok {
			return "", &Error{Kind: "ValueError", Message: fmt.Sprintf("Unknown format code '%s' for object of type '%s'", typ, typeName(v))}
		}
		base := map[string]int{"x": 16, "X": 16, "o": 8, "b": 2}[typ]
		out = strconv.FormatInt(n, base)
		if typ == "X" {
			out = strings.ToUpper(out)
		}
	default:
		return "", &Error{Kind: "ValueError", Message: fmt.Sprintf("Invalid format specifier '%s'", typ)}
	}
	if numeric && (sign == "+" || sign == " ") && !strings.HasPrefix(out, "-") {
		out = map[string]string{"+": "+", " ": " "}[sign] + out
	}
	if align == 0 {
		align = '<'
		if numeric {
			align = '>'
		}
	}
	if err := checkSize(width); err != nil {
		return "", err
	}
	n := utf8.RuneCountInString(out)
	if width > n {
		padN := width - n
		switch align {
		case '<':
			out += strings.Repeat(fill, padN)
		case '>':
			out = strings.Repeat(fill, padN) + out
		case '^':
			out = strings.Repeat(fill, padN/2) + out + strings.Repeat(fill, padN-padN/2)
		case '=':
			if strings.HasPrefix(out, "-") || strings.HasPrefix(out, "+") || strings.HasPrefix(out, " ") {
				out = out[:1] + strings.Repeat(fill, padN) + out[1:]
			} else {
				out = strings.Repeat(fill, padN) + out
			}
		}
	}
	return out, nil
}

// percentFormat is Python's "fmt % values" for %s, %r, %d, %i, %f and %%.
func percentFormat(s string, v any) (any, error) {
	var args []any
	var named *dict
	switch x := v.(type) {
	case tuple:
		args = x
	case *dict:
		named = x
		args = []any{x}
	default:
		args = []any{v}
	}
	var b strings.Builder
	ai := 0
	next := func() (any, error) {
		if ai >= len(args) {
			return nil, typeErr("not enough arguments for format string")
		}
		ai++
		return args[ai-1], nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i >= len(s) {
			return nil, &Error{Kind: "ValueError", Message: "incomplete format"}
		}
		var arg any
		haveArg := false
		if s[i] == '(' && named != nil {
			j := strings.IndexByte(s[i:], ')')
			if j < 0 {
				return nil, &Error{Kind: "ValueError", Message: "incomplete format key"}
			}
			key := s[i+1 : i+j]
			val, ok := named.get(key)
			if !ok {
				return nil, &Error{Kind: "KeyError", Message: pyStrRepr(key)}
			}
			arg, haveArg = val, true
			i += j + 1
		}
		specStart := i
		for i < len(s) && strings.IndexByte("-+ #0123456789.", s[i]) >= 0 {
			i++
		}
		if i >= len(s) {
			return nil, &Error{Kind: "ValueError", Message: "incomplete format"}
		}
		flags := s[specStart:i]
		conv := s[i]
		if conv == '%' {
			b.WriteByte('%')
			continue
		}
		if !haveArg {
			var err error
			if arg, err = next(); err != nil {
				return nil, err
			}
		}
		var out string
		var err error
		switch conv {
		case 's':
			out = toStr(arg)
		case 'r', 'a':
			out = repr(arg)
		case 'c':
			if n, ok := isIntLike(arg); ok && n >= 0 && n <= 0x10ffff {
				out = string(rune(n))
			} else if s, ok := asStr(arg); ok && utf8.RuneCountInString(s) == 1 {
				out = s
			} else {
				return nil, typeErr("%%c requires int or char")
			}
		case 'd', 'i', 'f', 'F', 'e', 'E', 'g', 'G', 'x', 'X', 'o':
			if !isNumber(arg) {
				return nil, typeErr("%%%c format: a real number is required, not %s", conv, typeName(arg))
			}
			c := string(conv)
			if conv == 'i' {
				c = "d"
			}
			if c == "d" || c == "x" || c == "X" || c == "o" {
				if f, ok := arg.(float64); ok {
					arg = int64(f)
				}
			}
			out, err = formatSpec(arg, strings.ReplaceAll(flags, "-", "<")+c)
			if err != nil {
				return nil, err
			}
			b.WriteString(out)
			continue
		default:
			return nil, &Error{Kind: "ValueError", Message: fmt.Sprintf("unsupported format character '%c'", conv)}
		}
		if flags != "" {
			left := strings.HasPrefix(flags, "-")
			w, _ := strconv.Atoi(strings.TrimLeft(flags, "-+ #0"))
			if n := utf8.RuneCountInString(out); w > n {
				if err := checkSize(w); err != nil {
					return nil, err
				}
				if left {
					out += strings.Repeat(" ", w-n)
				} else {
					out = strings.Repeat(" ", w-n) + out
				}
			}
		}
		b.WriteString(out)
	}
	if ai < len(args) && named == nil {
		return nil, typeErr("not all arguments converted during string formatting")
	}
	return b.String(), nil
}
