package toolcall

// The generic format serves templates of no known family. Reasoning in
// <think> tags is separated (many distilled models use them without a
// recognisable template), and with tools the Hermes <tool_call> form is
// read and, when a call is forced, imposed by the grammar: it is the form
// most open models were tuned on, and the grammar makes any model write it.
func init() {
	Generic = &Format{
		Name:          "generic",
		Detect:        func(string) bool { return false },
		NewParser:     newHermesParser,
		Grammar:       hermesGrammar,
		ReasoningOpen: thinkOpened,
	}
}
