#include "helpers.h"
#include "_cgo_export.h"

#include <math.h>

#include "ggml-cpu.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// lg_batch_add appends one token of one sequence to a batch allocated with
// llama_batch_init(n, 0, 1). The caller keeps n_tokens below n.
void lg_batch_add(struct llama_batch *b, llama_token id, llama_pos pos, llama_seq_id seq, int logits) {
	int i = b->n_tokens;
	b->token[i] = id;
	b->pos[i] = pos;
	b->n_seq_id[i] = 1;
	b->seq_id[i][0] = seq;
	b->logits[i] = (int8_t)logits;
	b->n_tokens = i + 1;
}

static void lg_log(enum ggml_log_level level, const char *text, void *user_data) {
	llamagateLog((int)level, (char *)text, user_data);
}

void lg_set_log(void) {
	llama_log_set(lg_log, NULL);
}

static bool lg_progress(float progress, void *user_data) {
	return llamagateProgress(progress, user_data);
}

void lg_set_progress(struct llama_model_params *p, void *user_data) {
	p->progress_callback = lg_progress;
	p->progress_callback_user_data = user_data;
}

// lg_release_memory hands memory that the C allocator keeps after an unload
// back to the operating system, so RSS drops when a model is freed (glibc
// otherwise keeps freed arenas of the threads that ran llama.cpp).
void lg_release_memory(void) {
#if defined(__GLIBC__)
	malloc_trim(0);
#endif
}

static void lg_fill(llama_token_data *buf, const float *logits, int32_t n_vocab) {
	for (int32_t i = 0; i < n_vocab; i++) {
		buf[i].id = i;
		buf[i].logit = logits[i];
		buf[i].p = 0.0f;
	}
}

static bool lg_impossible(float logit) {
	return isnan(logit) || (isinf(logit) && logit < 0);
}

// LG_MAX_REFUSED bounds how many drawn tokens a lazy grammar may refuse at
// its trigger in one step before the step gives up.
#define LG_MAX_REFUSED 16

static void lg_ban(llama_token_data *buf, const llama_token *refused, int n_refused) {
	for (int i = 0; i < n_refused; i++) {
		buf[refused[i]].logit = -INFINITY;
	}
}

// lg_draw draws one token: from the chain alone when the grammar allows the
// drawn token, else from the chain over what the grammar allows. Tokens in
// refused are impossible. It returns -1 when no token is possible.
static llama_token lg_draw(struct llama_sampler *chain, struct llama_sampler *grammar, const float *logits, llama_token_data *buf, int32_t n_vocab, const llama_token *refused, int n_refused) {
	lg_fill(buf, logits, n_vocab);
	lg_ban(buf, refused, n_refused);
	llama_token_data_array cur = {buf, (size_t)n_vocab, -1, false};
	llama_sampler_apply(chain, &cur);
	if (cur.selected < 0 || (size_t)cur.selected >= cur.size || lg_impossible(cur.data[cur.selected].logit)) {
		if (grammar == NULL) {
			return -1;
		}
		cur.selected = -1; // retried below with the grammar first
	}
	if (grammar != NULL && cur.selected >= 0) {
		llama_token_data one = {cur.data[cur.selected].id, 1.0f, 0.0f};
		llama_token_data_array single = {&one, 1, -1, false};
		llama_sampler_apply(grammar, &single);
		if (lg_impossible(one.logit)) {
			cur.selected = -1;
		}
	}
	if (cur.selected < 0) {
		lg_fill(buf, logits, n_vocab);
		lg_ban(buf, refused, n_refused);
		cur = (llama_token_data_array){buf, (size_t)n_vocab, -1, false};
		llama_sampler_apply(grammar, &cur);
		llama_sampler_apply(chain, &cur);
		if (cur.selected < 0 || (size_t)cur.selected >= cur.size || lg_impossible(cur.data[cur.selected].logit)) {
			return -1;
		}
	}
	return cur.data[cur.selected].id;
}

// lg_sample is llama_sampler_sample with the candidates in a buffer the
// caller owns (n_vocab entries, reused every step), an optional grammar kept
// outside the chain, and one check more: when nothing is possible (a grammar
// that no token of the vocabulary can continue), it returns -1 instead of
// accepting an impossible token, which would make the grammar sampler throw
// through C and abort.
//
// With a grammar it does what llama.cpp's common sampler does: sample
// without the grammar, and only if the grammar rejects that token apply the
// grammar to the whole vocabulary and sample again. Checking one token is
// much cheaper than checking every token of a large vocabulary, and the
// first draw is usually allowed.
//
// A lazy grammar (lazy set) allows every token until its trigger fires, and
// the token that fires it replays the trigger's text into the grammar,
// which may refuse it (the same token carries text the grammar does not
// accept after the trigger). The grammar is cloned before each accept; when
// it refuses, the clone replaces it (*grammar is updated), the token is
// banned for this step and another is drawn.
llama_token lg_sample(struct llama_sampler *chain, struct llama_sampler **grammar, int lazy, struct llama_context *ctx, int32_t idx, llama_token_data *buf, int32_t n_vocab) {
	const float *logits = llama_get_logits_ith(ctx, idx);
	if (logits == NULL) {
		return -1;
	}
	llama_token refused[LG_MAX_REFUSED];
	int n_refused = 0;
	for (;;) {
		llama_token tok = lg_draw(chain, *grammar, logits, buf, n_vocab, refused, n_refused);
		if (tok < 0) {
			return -1;
		}
		if (*grammar == NULL) {
			llama_sampler_accept(chain, tok);
			return tok;
		}
		struct llama_sampler *backup = lazy ? llama_sampler_clone(*grammar) : NULL;
		if (lg_grammar_accept(*grammar, tok)) {
			if (backup != NULL) {
				llama_sampler_free(backup);
			}
			llama_sampler_accept(chain, tok);
			return tok;
		}
		if (backup == NULL || n_refused == LG_MAX_REFUSED) {
			if (backup != NULL) {
				llama_sampler_free(backup);
			}
			return -1;
		}
		llama_sampler_free(*grammar);
		*grammar = backup;
		refused[n_refused++] = tok;
	}
}

// lg_threadpool_new starts a ggml thread pool of n_threads (the caller's
// thread is one of them) whose workers sleep as soon as a graph is done
// (poll 0): spinning between steps loses to other processes on a shared
// machine (docs/decisions.md).
struct ggml_threadpool *lg_threadpool_new(int n_threads) {
	struct ggml_threadpool_params p = ggml_threadpool_params_default(n_threads);
	p.poll = 0;
	return ggml_threadpool_new(&p);
}
