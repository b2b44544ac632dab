/*
 * llamagate's stand-in for miniaudio.h. Why it exists:
 *
 * The cgo binding github.com/ollama/ollama/llama compiles llama.cpp's
 * tools/mtmd/mtmd-helper.cpp, which includes "miniaudio/miniaudio.h" to decode
 * audio input for multimodal models. llama.cpp ships that header in its
 * vendor/ directory, but Go module zips drop every vendor/ directory, so the
 * binding does not build from the module proxy without it, and Debian 12 does
 * not package miniaudio.
 *
 * llamagate does not accept audio input. This header declares only the types
 * and the five decoder calls that mtmd-helper.cpp uses, and every call fails,
 * so an audio buffer is reported as "unable to read audio" instead of being
 * decoded. It is not miniaudio and contains none of its code. The Makefile
 * puts the folder above this one on CGO_CPPFLAGS.
 */
#ifndef LLAMAGATE_MINIAUDIO_STANDIN_H
#define LLAMAGATE_MINIAUDIO_STANDIN_H

#include <stddef.h>
#include <stdint.h>

#ifndef MA_API
#define MA_API static
#endif

typedef int ma_result;
typedef uint32_t ma_uint32;
typedef uint64_t ma_uint64;

#define MA_SUCCESS 0
#define MA_NOT_IMPLEMENTED (-29)

typedef enum { ma_format_unknown = 0, ma_format_f32 = 5 } ma_format;

typedef struct {
    ma_format format;
    ma_uint32 channels;
    ma_uint32 sampleRate;
} ma_decoder_config;

typedef struct {
    int unused;
} ma_decoder;

static inline ma_decoder_config ma_decoder_config_init(ma_format format, ma_uint32 channels, ma_uint32 sample_rate) {
    ma_decoder_config c;
    c.format = format;
    c.channels = channels;
    c.sampleRate = sample_rate;
    return c;
}

static inline ma_result ma_decoder_init_memory(const void *data, size_t size, const ma_decoder_config *config, ma_decoder *decoder) {
    (void)data; (void)size; (void)config;
    if (decoder) decoder->unused = 0;
    return MA_NOT_IMPLEMENTED;
}

static inline ma_result ma_decoder_get_length_in_pcm_frames(ma_decoder *decoder, ma_uint64 *length) {
    (void)decoder;
    if (length) *length = 0;
    return MA_NOT_IMPLEMENTED;
}

static inline ma_result ma_decoder_read_pcm_frames(ma_decoder *decoder, void *frames_out, ma_uint64 frame_count, ma_uint64 *frames_read) {
    (void)decoder; (void)frames_out; (void)frame_count;
    if (frames_read) *frames_read = 0;
    return MA_NOT_IMPLEMENTED;
}

static inline ma_result ma_decoder_uninit(ma_decoder *decoder) {
    (void)decoder;
    return MA_SUCCESS;
}

#endif
