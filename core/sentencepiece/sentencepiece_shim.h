/* The C interface of the sentencepiece shim (see sentencepiece_shim.cpp). Errors are returned as
   a non-zero status (or NULL) with a NUL-terminated message in the caller's buffer. Results are
   handed to caller-supplied sinks, so the caller copies them with its own allocator. */
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qs_spm qs_spm;
typedef void (*qs_spm_ids_sink)(void* context, const int* ids, size_t count);
typedef void (*qs_spm_text_sink)(void* context, const char* text, size_t size);

qs_spm* qs_spm_open(const char* path, char* error, size_t error_size);
/* A serialized ModelProto held in memory (a GGUF's vocabulary). */
qs_spm* qs_spm_open_proto(const char* data, size_t size, char* error, size_t error_size);
void qs_spm_close(qs_spm* spm);
int qs_spm_encode(const qs_spm* spm, const char* text, size_t size, qs_spm_ids_sink sink, void* context, char* error,
                  size_t error_size);
int qs_spm_decode(const qs_spm* spm, const int* ids, size_t count, qs_spm_text_sink sink, void* context, char* error,
                  size_t error_size);
void qs_spm_piece(const qs_spm* spm, int id, qs_spm_text_sink sink, void* context);
int qs_spm_vocab_size(const qs_spm* spm);
int qs_spm_bos_id(const qs_spm* spm);
int qs_spm_eos_id(const qs_spm* spm);

#ifdef __cplusplus
}
#endif
