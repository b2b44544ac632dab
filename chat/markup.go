package chat

import "strings"

// markup is markupsafe's Markup, the str subclass that the safe and
// escape filters return. Autoescaping is off, yet Markup still escapes
// what is added to it: ("<b>"|safe) + "<i>" is "<b>&lt;i&gt;". Templates
// such as functionary's rely on that by accident, so it is kept.
type markup string

// asStr reports whether v is a Python str (Markup included).
func asStr(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case markup:
		return string(x), true
	}
	return "", false
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&#39;", "\"", "&#34;")

// escape is markupsafe.escape.
func escape(v any) markup {
	if m, ok := v.(markup); ok {
		return m
	}
	return markup(htmlEscaper.Replace(toStr(v)))
}

// sameKind returns s as Markup when like is Markup, else as str.
func sameKind(like any, s string) any {
	if _, ok := like.(markup); ok {
		return markup(s)
	}
	return s
}

// markupAdd is Markup.__add__ and Markup.__radd__.
func markupAdd(l, r any) (any, bool) {
	_, lm := l.(markup)
	_, rm := r.(markup)
	if !lm && !rm {
		return nil, false
	}
	if _, ok := asStr(l); !ok {
		return nil, false
	}
	if _, ok := asStr(r); !ok {
		return nil, false
	}
	return escape(l) + escape(r), true
}

// Markup methods that escape their string arguments and return Markup.
var markupEscapingMethods = map[string]bool{
	"capitalize": true, "title": true, "lower": true, "upper": true, "replace": true,
	"ljust": true, "rjust": true, "lstrip": true, "rstrip": true, "center": true,
	"strip": true, "swapcase": true, "zfill": true,
}

// Markup methods whose string results are Markup.
var markupWrappingMethods = map[string]bool{
	"split": true, "rsplit": true, "splitlines": true, "partition": true, "rpartition": true,
}

func markupMethod(m markup, name string) (any, bool) {
	v, ok := strMethod(string(m), name)
	if !ok {
		return nil, false
	}
	f, isFn := v.(*function)
	if !isFn {
		return v, true
	}
	switch {
	case markupEscapingMethods[name]:
		return method("Markup."+name, func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			args, kw = escapeArgs(args, kw)
			r, err := f.fn(ev, args, kw)
			return wrapMarkup(r), err
		}), true
	case markupWrappingMethods[name]:
		return method("Markup."+name, func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			r, err := f.fn(ev, args, kw)
			return wrapMarkup(r), err
		}), true
	case name == "join":
		return method("Markup.join", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			if len(args) == 1 {
				items, err := iterate(args[0])
				if err != nil {
					return nil, err
				}
				esc := make([]any, len(items))
				for i, it := range items {
					if _, ok := asStr(it); !ok {
						esc[i] = it // str.join reports the type error
					} else {
						esc[i] = string(escape(it))
					}
				}
				args = []any{esc}
			}
			r, err := f.fn(ev, args, kw)
			return wrapMarkup(r), err
		}), true
	case name == "format":
		return method("Markup.format", func(ev *evaluator, args []any, kw []kwarg) (any, error) {
			esc := make([]any, len(args))
			for i, a := range args {
				esc[i] = escapeForFormat(a)
			}
			ekw := make([]kwarg, len(kw))
			for i, k := range kw {
				ekw[i] = kwarg{name: k.name, v: escapeForFormat(k.v)}
			}
			r, err := f.fn(ev, esc, ekw)
			return wrapMarkup(r), err
		}), true
	}
	return v, true
}

// escapeForFormat escapes strings given to Markup.format; other values are
// formatted first, then escaped by the str() in strFormat's result.
func escapeForFormat(v any) any {
	switch v.(type) {
	case string, markup, nil, bool, *dict, []any, tuple:
		return string(escape(v))
	}
	return v
}

func escapeArgs(args []any, kw []kwarg) ([]any, []kwarg) {
	out := make([]any, len(args))
	for i, a := range args {
		if _, ok := asStr(a); ok {
			out[i] = string(escape(a))
		} else {
			out[i] = a
		}
	}
	okw := make([]kwarg, len(kw))
	for i, k := range kw {
		okw[i] = k
		if _, ok := asStr(k.v); ok {
			okw[i].v = string(escape(k.v))
		}
	}
	return out, okw
}

func wrapMarkup(v any) any {
	switch x := v.(type) {
	case string:
		return markup(x)
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = wrapMarkup(it)
		}
		return out
	case tuple:
		out := make(tuple, len(x))
		for i, it := range x {
			out[i] = wrapMarkup(it)
		}
		return out
	}
	return v
}

// escapePercentArgs escapes the arguments of Markup % args.
func escapePercentArgs(args any) any {
	esc := func(v any) any {
		if _, ok := asStr(v); ok {
			return string(escape(v))
		}
		return v
	}
	switch x := args.(type) {
	case tuple:
		out := make(tuple, len(x))
		for i, it := range x {
			out[i] = esc(it)
		}
		return out
	case *dict:
		out := newDict(len(x.keys))
		for _, k := range x.keys {
			out.set(k, esc(x.val(k)))
		}
		return out
	}
	return esc(args)
}
