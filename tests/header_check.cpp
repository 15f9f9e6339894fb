// Compiles the public header as C++ (the header is the contract for C and C++ users).
#include "vkllm.h"
int vkllm_header_cxx_check() { return VKLLM_OK; }
