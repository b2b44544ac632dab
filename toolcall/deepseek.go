package toolcall

// DeepSeek R1 (and its distills, and llama.cpp's deepseek-r1 template)
// writes each call as
//
//	<｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{args}\n```<｜tool▁call▁end｜>
//
// and DeepSeek V3.1 as
//
//	<｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{args}<｜tool▁call▁end｜>
//
// both inside <｜tool▁calls▁begin｜>...<｜tool▁calls▁end｜>, after an
// optional <think> block (R1's prompt often opens it). The markers use
// fullwidth bars and U+2581; distills that spell them out as text
// sometimes write "_" or a space instead, which the parser accepts too.
// One parser reads both forms (the text after the separator tells them
// apart); the two formats differ in detection and grammar.

import (
	"strings"
)

// dsVariants returns a marker as the tokenizer spells it and the spellings
// seen from distills writing it as text.
func dsVariants(m string) []string {
	return []string{m, strings.ReplaceAll(m, "▁", "_"), strings.ReplaceAll(m, "▁", " ")}
}

const (
	dsCallsBegin = "<｜tool▁calls▁begin｜>"
	dsCallsEnd   = "<｜tool▁calls▁end｜>"
	dsCallBegin  = "<｜tool▁call▁begin｜>"
	dsCallEnd    = "<｜tool▁call▁end｜>"
	dsSep        = "<｜tool▁sep｜>"
)

var (
	dsCallsBeginAll = dsVariants(dsCallsBegin)
	dsCallsEndAll   = dsVariants(dsCallsEnd)
	dsCallBeginAll  = dsVariants(dsCallBegin)
	dsCallEndAll    = dsVariants(dsCallEnd)
	dsSepAll        = dsVariants(dsSep)
	// in text, a call may also start without the section marker.
	dsOpeners = append(append([]string{}, dsCallsBeginAll...), dsCallBeginAll...)
)

const (
	dsText     = iota // content
	dsSection         // between calls: a call or the section's end
	dsHeader          // before the separator
	dsAfterSep        // what follows the separator decides the form
	dsName            // R1: the name line up to the fence
	dsLang            // R1: the fence's language tag
	dsArgs            // the arguments object
	dsFenceEnd        // R1: the closing fence
	dsCallTail        // the call's end marker
)

// maxHeader bounds text held while waiting for a header's end marker, so
// that markup gone wrong fails instead of buffering the whole answer.
const maxHeader = 512

type deepseekScan struct {
	st     int
	pend   string
	head   string // the text before the separator
	name   string
	fenced bool
	args   *argsJSON
}

func (d *deepseekScan) feed(o *out, s string) {
	d.pend += s
	for o.err == nil {
		switch d.st {
		case dsText:
			safe, rest, which := cutMarkers(d.pend, dsOpeners...)
			o.text(safe)
			d.pend = rest
			if which < 0 {
				return
			}
			d.pend = rest[len(dsOpeners[which]):]
			if which < len(dsCallsBeginAll) {
				d.st = dsSection
			} else {
				d.st = dsHeader
			}
		case dsSection:
			w, rest, wait := expectMarker(d.pend, append(append([]string{}, dsCallBeginAll...), dsCallsEndAll...)...)
			if wait {
				return
			}
			if w < 0 {
				o.fail(errMarkup)
				return
			}
			d.pend = rest
			if w < len(dsCallBeginAll) {
				d.st = dsHeader
			} else {
				d.st = dsText
			}
		case dsHeader:
			pos, which := findFirst(d.pend, dsSepAll...)
			if pos < 0 {
				if len(d.pend) > maxHeader {
					o.fail(errMarkup)
				}
				return
			}
			d.head = strings.TrimSpace(d.pend[:pos])
			d.pend = d.pend[pos+len(dsSepAll[which]):]
			d.st = dsAfterSep
		case dsAfterSep:
			t := strings.TrimLeft(d.pend, spaces)
			if t == "" {
				return
			}
			if t[0] == '{' { // V3.1: the name came before the separator
				d.startArgs(o, d.head, false)
				d.pend = t
				continue
			}
			d.st = dsName
		case dsName:
			pos := strings.Index(d.pend, "```")
			if pos < 0 {
				if len(d.pend) > maxHeader {
					o.fail(errMarkup)
				}
				return
			}
			d.name = strings.TrimSpace(d.pend[:pos])
			d.pend = d.pend[pos+3:]
			d.st = dsLang
		case dsLang:
			if strings.HasPrefix("json", d.pend) && len(d.pend) < 4 {
				return // the tag may still be arriving
			}
			d.pend = strings.TrimPrefix(d.pend, "json")
			d.startArgs(o, d.name, true)
		case dsArgs:
			n, done := d.args.feed(o, d.pend)
			d.pend = d.pend[n:]
			if !done {
				return
			}
			if d.fenced {
				d.st = dsFenceEnd
			} else {
				d.st = dsCallTail
			}
		case dsFenceEnd:
			w, rest, wait := expectMarker(d.pend, "```")
			if wait {
				return
			}
			if w < 0 {
				o.fail(errMarkup)
				return
			}
			d.pend = rest
			d.st = dsCallTail
		case dsCallTail:
			w, rest, wait := expectMarker(d.pend, dsCallEndAll...)
			if wait {
				return
			}
			if w < 0 {
				o.fail(errMarkup)
				return
			}
			o.endCall()
			d.pend = rest
			d.st = dsSection
		}
	}
}

func (d *deepseekScan) startArgs(o *out, name string, fenced bool) {
	if name == "" {
		o.fail(errMarkup)
		return
	}
	o.start(name, "")
	d.fenced = fenced
	d.args = &argsJSON{}
	d.st = dsArgs
}

func (d *deepseekScan) finish(o *out) {
	switch d.st {
	case dsText:
		o.text(d.pend)
	case dsSection:
		// The section's end marker may be missing at the end of output.
	case dsFenceEnd, dsCallTail:
		// The arguments are whole: the call stands unless the output was
		// cut short (the common parser checks that).
	default:
		o.fail(errUnterminated)
	}
	d.pend = ""
}

func newDeepSeekParser(opts Options) Parser {
	return newParser(opts, newThinkSplit("<think>", "</think>"), &deepseekScan{})
}

// deepseekGrammar builds R1's (fenced) or V3.1's call grammar.
func deepseekGrammar(fenced bool) func(Options, SchemaConverter) (*Grammar, error) {
	return func(opts Options, conv SchemaConverter) (*Grammar, error) {
		tools, err := offered(opts)
		if err != nil {
			return nil, err
		}
		g := &grammarBuilder{conv: conv}
		g.b.WriteString(wsRule + "\n")
		var alts []string
		for _, t := range tools {
			args, err := g.args(t)
			if err != nil {
				return nil, err
			}
			if fenced {
				alts = append(alts, GBNFLiteral(dsCallBegin+"function"+dsSep+t.Name+"\n```json\n")+" "+args+" "+GBNFLiteral("\n```"+dsCallEnd))
			} else {
				alts = append(alts, GBNFLiteral(dsCallBegin+t.Name+dsSep)+" "+args+" "+GBNFLiteral(dsCallEnd))
			}
		}
		g.rule("tc-call", strings.Join(alts, " | "))
		sep := "tc-call"
		if fenced {
			sep = `"\n"? tc-call` // the R1 template puts a newline between calls
		}
		calls := GBNFLiteral(dsCallsBegin) + " tc-call"
		if opts.Choice.Parallel {
			calls += " (" + sep + ")*"
		}
		calls += " " + GBNFLiteral(dsCallsEnd)
		g.rule("tc-calls", calls)
		if opts.Choice.Mode == ChoiceAuto {
			g.rule("root", "tc-calls")
			return &Grammar{GBNF: g.String(), Lazy: true, Triggers: []string{lazyTrigger(dsCallsBegin)}}, nil
		}
		think := g.thinkPrefix("</think>", opts.ThinkingOpen)
		g.rule("root", think+"tc-ws tc-calls")
		return &Grammar{GBNF: g.String()}, nil
	}
}

func init() {
	Register(&Format{
		Name:     "deepseek-r1",
		Priority: 100,
		// R1's templates write the fenced call (the llama.cpp one in its
		// instructions, the distills' when rendering history).
		Detect: func(tmpl string) bool {
			return strings.Contains(tmpl, "tool▁calls▁begin") && strings.Contains(tmpl, "```json")
		},
		NewParser:     newDeepSeekParser,
		Grammar:       deepseekGrammar(true),
		ReasoningOpen: endsOpenThink,
	})
	Register(&Format{
		Name:     "deepseek-v3.1",
		Priority: 100,
		Detect: func(tmpl string) bool {
			return strings.Contains(tmpl, "tool▁calls▁begin") && !strings.Contains(tmpl, "```json")
		},
		NewParser:     newDeepSeekParser,
		Grammar:       deepseekGrammar(false),
		ReasoningOpen: endsOpenThink,
	})
}
