// C++ parts of the grammar path: llama.cpp's grammar code reports some
// failures by throwing (a trigger pattern std::regex cannot compile, text a
// lazy grammar refuses when its trigger fires), and an exception must not
// unwind through cgo's C frames, which aborts the process.
#include "helpers.h"

#include <exception>

extern "C" {

// lg_grammar_init returns a grammar sampler (lazy with its trigger patterns
// when lazy is set) or NULL when llama.cpp refuses the grammar or a pattern.
struct llama_sampler *lg_grammar_init(const struct llama_vocab *vocab, const char *gbnf, char **patterns, size_t n_patterns, int lazy) {
	try {
		if (!lazy) {
			return llama_sampler_init_grammar(vocab, gbnf, "root");
		}
		return llama_sampler_init_grammar_lazy_patterns(vocab, gbnf, "root", (const char **)patterns, n_patterns, NULL, 0);
	} catch (const std::exception &) {
		return NULL;
	}
}

// lg_grammar_accept feeds one token to a grammar sampler. It returns 0 when
// the grammar threw: the sampler's state is then unusable.
int lg_grammar_accept(struct llama_sampler *grammar, llama_token tok) {
	try {
		llama_sampler_accept(grammar, tok);
		return 1;
	} catch (const std::exception &) {
		return 0;
	}
}

}
