// reduce.glsl — workgroup-wide sum and max of one float per thread.
// With USE_SUBGROUP the subgroups reduce first and shared memory only joins
// the subgroup partials; otherwise a shared-memory tree over VK_WG threads.
// All threads must call these (they contain barriers); all get the result.
#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
shared float red_buf[VK_WG];
float wg_sum(float v) {
    float s = subgroupAdd(v);
    barrier();
    if (subgroupElect()) red_buf[gl_SubgroupID] = s;
    barrier();
    float t = 0.0;
    for (uint i = 0u; i < gl_NumSubgroups; i++) t += red_buf[i];
    return t;
}
float wg_max(float v) {
    float s = subgroupMax(v);
    barrier();
    if (subgroupElect()) red_buf[gl_SubgroupID] = s;
    barrier();
    float t = red_buf[0];
    for (uint i = 1u; i < gl_NumSubgroups; i++) t = max(t, red_buf[i]);
    return t;
}
#else
shared float red_buf[VK_WG];
float wg_sum(float v) {
    uint tid = gl_LocalInvocationID.x;
    barrier();
    red_buf[tid] = v;
    barrier();
    for (uint s = VK_WG / 2u; s > 0u; s >>= 1) {
        if (tid < s) red_buf[tid] += red_buf[tid + s];
        barrier();
    }
    return red_buf[0];
}
float wg_max(float v) {
    uint tid = gl_LocalInvocationID.x;
    barrier();
    red_buf[tid] = v;
    barrier();
    for (uint s = VK_WG / 2u; s > 0u; s >>= 1) {
        if (tid < s) red_buf[tid] = max(red_buf[tid], red_buf[tid + s]);
        barrier();
    }
    return red_buf[0];
}
#endif
