// rope.glsl — the rotation angle of RoPE: pos * inv_freq, reduced to
// [-pi, pi] (2*pi split in two parts so the reduction stays exact for large
// positions) before cos/sin. Returns (cos, sin).
vec2 rope_cs(float pos, float inv_freq) {
    float a = pos * inv_freq;
    precise float k = round(a * 0.15915494309189535);
    precise float r = (a - k * 6.28125) - k * 1.9353071795864769e-3;
    return vec2(cos(r), sin(r));
}
