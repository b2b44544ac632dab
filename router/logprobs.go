package router

import (
	"unicode/utf8"

	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/openai"
)

// chatLogprobs shapes the tokens of a chat answer (or of one chunk) as
// choices[].logprobs: {"content": [...], "refusal": null}.
func chatLogprobs(lps []engine.TokenLogprob) *openai.ChatLogprobs {
	out := &openai.ChatLogprobs{Content: make([]openai.ChatTokenLogprob, len(lps))}
	for i, lp := range lps {
		e := openai.ChatTokenLogprob{
			Token:       openai.TokenText(lp.Token),
			Logprob:     openai.Logprob(lp.Logprob),
			Bytes:       openai.TokenBytes(lp.Token),
			TopLogprobs: make([]openai.ChatTopLogprob, len(lp.Top)),
		}
		for j, t := range lp.Top {
			e.TopLogprobs[j] = openai.ChatTopLogprob{Token: openai.TokenText(t.Token), Logprob: openai.Logprob(t.Logprob), Bytes: openai.TokenBytes(t.Token)}
		}
		out.Content[i] = e
	}
	return out
}

// completionLogprobs shapes tokens as a legacy choice's logprobs columns.
// As OpenAI's, each top_logprobs object holds the requested alternatives
// and always the sampled token too. text_offset counts characters of the
// choice's text (off carries the count across a stream's chunks).
func completionLogprobs(lps []engine.TokenLogprob, off *textOffsets) *openai.CompletionLogprobs {
	out := &openai.CompletionLogprobs{
		Tokens:        make([]string, len(lps)),
		TokenLogprobs: make([]float32, len(lps)),
		TopLogprobs:   make([]openai.OrderedTop, len(lps)),
		TextOffset:    make([]int, len(lps)),
	}
	for i, lp := range lps {
		text := openai.TokenText(lp.Token)
		out.Tokens[i] = text
		out.TokenLogprobs[i] = openai.Logprob(lp.Logprob)
		top := make(openai.OrderedTop, 0, len(lp.Top)+1)
		sampled := false
		for _, t := range lp.Top {
			tt := openai.TokenText(t.Token)
			sampled = sampled || tt == text
			top = append(top, openai.TokenValue{Token: tt, Logprob: openai.Logprob(t.Logprob)})
		}
		if !sampled {
			top = append(top, openai.TokenValue{Token: text, Logprob: out.TokenLogprobs[i]})
		}
		out.TopLogprobs[i] = top
		out.TextOffset[i] = off.next(lp.Token)
	}
	return out
}

// textOffsets turns a choice's tokens into character offsets: a token's
// offset is the number of whole characters before its first byte, so a
// token that begins inside a character (a byte-fallback token) gets that
// character's offset. A byte that is not UTF-8 counts as one character, as
// it becomes one U+FFFD in the JSON text.
type textOffsets struct {
	tail  []byte // an incomplete character at the end of the text so far
	chars int
}

func (o *textOffsets) next(token string) int {
	at := o.chars
	o.tail = append(o.tail, token...)
	n := 0
	for n < len(o.tail) && utf8.FullRune(o.tail[n:]) {
		_, size := utf8.DecodeRune(o.tail[n:])
		n += size
		o.chars++
	}
	o.tail = append(o.tail[:0], o.tail[n:]...)
	return at
}
