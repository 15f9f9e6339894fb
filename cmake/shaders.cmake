# shaders.cmake — compiles src/backend/vulkan/shaders/*.comp to SPIR-V with
# glslc at build time and embeds every module as a C array in
# ${CMAKE_BINARY_DIR}/generated/vk_spirv.c (table declared in vk_spirv.h).
# Variant table: each entry is "name|source|defines" (defines separated by ',').

set(VK_SHADER_DIR ${CMAKE_SOURCE_DIR}/src/backend/vulkan/shaders)
set(VK_GEN_DIR ${CMAKE_BINARY_DIR}/generated)
file(MAKE_DIRECTORY ${VK_GEN_DIR}/spv)

set(VK_WEIGHT_TYPES F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K)
set(VK_VARIANTS
  "rmsnorm|rmsnorm|" "rope|rope|" "rope_kv|rope_kv|" "kv_write|kv_write|" "attention|attention|"
  "attention_split|attention|SPLIT" "attention_tiled|attention|TILED"
  "attention_cm|attention_cm|" "attention_sg|attention|USE_SUBGROUP"
  "attention_split_sg|attention|SPLIT,USE_SUBGROUP" "attention_gqa|attention_gqa|" "attention_gqa_rope|attention_gqa|ROPE"
  "silu_mul|silu_mul|" "x_f16|x_f16|" "add|add|" "gather_rows|gather_rows|" "argmax|argmax|")
foreach(t ${VK_WEIGHT_TYPES})
  string(TOLOWER ${t} tl)
  list(APPEND VK_VARIANTS "embed_${tl}|embed|TYPE_${t}"
                          "gemm_${tl}|gemm|TYPE_${t}"
                          "gemm_cm_${tl}|gemm_cm|TYPE_${t}"
                          "matvec_${tl}|matvec|TYPE_${t}"
                          "matvec_${tl}_sg|matvec|TYPE_${t},USE_SUBGROUP")
endforeach()
foreach(t Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K)
  string(TOLOWER ${t} tl)
  list(APPEND VK_VARIANTS "matvec_sx_${tl}|matvec_sx|TYPE_${t}")
endforeach()
foreach(t F32 F16 BF16)
  string(TOLOWER ${t} tl)
  list(APPEND VK_VARIANTS "matvec_${tl}_w|matvec|TYPE_${t},WIDE"
                          "matvec_${tl}_w_sg|matvec|TYPE_${t},WIDE,USE_SUBGROUP")
endforeach()

file(GLOB VK_SHADER_COMMON ${VK_SHADER_DIR}/common/*.glsl)
set(VK_SPV_FILES "")
set(VK_SPV_NAMES "")
foreach(v ${VK_VARIANTS})
  string(REPLACE "|" ";" parts "${v}")
  list(GET parts 0 vname)
  list(GET parts 1 vsrc)
  list(LENGTH parts nparts)
  set(vdefs "")
  if(nparts GREATER 2)
    list(GET parts 2 dstr)
    if(dstr)
      string(REPLACE "," ";" dlist "${dstr}")
      foreach(d ${dlist})
        list(APPEND vdefs "-D${d}")
      endforeach()
    endif()
  endif()
  set(out ${VK_GEN_DIR}/spv/${vname}.spv)
  add_custom_command(OUTPUT ${out}
    COMMAND ${GLSLC} --target-env=vulkan1.2 -O -I${VK_SHADER_DIR} ${vdefs}
            ${VK_SHADER_DIR}/${vsrc}.comp -o ${out}
    DEPENDS ${VK_SHADER_DIR}/${vsrc}.comp ${VK_SHADER_COMMON}
            ${CMAKE_SOURCE_DIR}/src/backend/vulkan/vk_shader_iface.h
    COMMENT "glslc ${vname}" VERBATIM)
  list(APPEND VK_SPV_FILES ${out})
  list(APPEND VK_SPV_NAMES ${vname})
endforeach()

set(VK_SPIRV_C ${VK_GEN_DIR}/vk_spirv.c)
add_custom_command(OUTPUT ${VK_SPIRV_C}
  COMMAND ${CMAKE_COMMAND} -DOUT=${VK_SPIRV_C} -DSPV_DIR=${VK_GEN_DIR}/spv
          "-DNAMES=${VK_SPV_NAMES}" -P ${CMAKE_SOURCE_DIR}/cmake/embed_spirv.cmake
  DEPENDS ${VK_SPV_FILES} ${CMAKE_SOURCE_DIR}/cmake/embed_spirv.cmake
  COMMENT "embedding SPIR-V" VERBATIM)
set(VKLLM_SHADER_SOURCES ${VK_SPIRV_C})
