package toolcall

import "strings"

// Granite 3.x answers a call with <|tool_call|> and a JSON list of
// {"name": ..., "arguments": {...}} objects. Granite 3.3 with thinking on
// writes <think>...</think> and then its answer inside <response> tags,
// which are markup, not content.

const graniteCall = "<|tool_call|>"

func init() {
	Register(&Format{
		Name:     "granite",
		Priority: 20,
		Detect:   func(t string) bool { return strings.Contains(t, graniteCall) },
		NewParser: func(opts Options) Parser {
			calls := &arrayCalls{marker: graniteCall, newObj: func() *callObject {
				return newCallObject([]string{"name"}, []string{"arguments"})
			}}
			return newParser(opts, newThinkSplit(thinkOpen, thinkClose), &dropTags{tags: []string{"<response>", "</response>"}, next: calls})
		},
		Grammar: func(opts Options, conv SchemaConverter) (*Grammar, error) {
			g, list, err := arrayGrammar(opts, conv, graniteCall, "arguments")
			if err != nil {
				return nil, err
			}
			g.rule("root", list)
			if opts.Choice.Mode == ChoiceAuto {
				return &Grammar{GBNF: g.String(), Lazy: true, Triggers: []string{lazyTrigger(graniteCall)}}, nil
			}
			return &Grammar{GBNF: g.String()}, nil
		},
	})
}

// dropTags removes wrapper tags from the text before the call scanner
// sees it, holding back a tag split across pieces.
type dropTags struct {
	tags []string
	next callScanner
	pend string
}

func (d *dropTags) feed(o *out, s string) {
	buf := d.pend + s
	var b strings.Builder
	for {
		safe, rest, which := cutMarkers(buf, d.tags...)
		b.WriteString(safe)
		if which < 0 {
			d.pend = rest
			break
		}
		buf = rest[len(d.tags[which]):]
	}
	if b.Len() > 0 {
		d.next.feed(o, b.String())
	}
}

func (d *dropTags) finish(o *out) {
	if d.pend != "" {
		d.next.feed(o, d.pend)
		d.pend = ""
	}
	d.next.finish(o)
}
