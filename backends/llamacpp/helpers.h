// C helpers for the llamacpp package: small functions that are awkward to
// write in Go through cgo (filling a llama_batch, installing callbacks).
#ifndef LLAMAGATE_HELPERS_H
#define LLAMAGATE_HELPERS_H

#include "llama.h"

#ifdef __cplusplus
extern "C" {
#endif

void lg_batch_add(struct llama_batch *b, llama_token id, llama_pos pos, llama_seq_id seq, int logits);
void lg_set_log(void);
void lg_set_progress(struct llama_model_params *p, void *user_data);
void lg_release_memory(void);
struct ggml_threadpool *lg_threadpool_new(int n_threads);
llama_token lg_sample(struct llama_sampler *chain, struct llama_sampler **grammar, int lazy, struct llama_context *ctx, int32_t idx, llama_token_data *buf, int32_t n_vocab);

// grammar.cpp
struct llama_sampler *lg_grammar_init(const struct llama_vocab *vocab, const char *gbnf, char **patterns, size_t n_patterns, int lazy);
int lg_grammar_accept(struct llama_sampler *grammar, llama_token tok);

#ifdef __cplusplus
}
#endif

#endif
