/* cli_line.c — see cli_line.h. The terminal is in raw mode only while a line
 * is being read; every redraw rewrites the prompt and the line. */
#include "cli_line.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static void line_redraw(const char *prompt, const char *buf, size_t len, size_t pos) {
    char seq[32];
    if (write(1, "\r\x1b[K", 4) < 0) return;
    if (write(1, prompt, strlen(prompt)) < 0 || write(1, buf, len) < 0) return;
    size_t back = 0; /* characters (not bytes) after the cursor */
    for (size_t i = pos; i < len; i++) back += ((unsigned char)buf[i] & 0xC0) != 0x80;
    if (back) {
        int n = snprintf(seq, sizeof seq, "\x1b[%zuD", back);
        if (write(1, seq, (size_t)n) < 0) return;
    }
}

static size_t line_prev(const char *buf, size_t pos) {
    while (pos > 0 && ((unsigned char)buf[--pos] & 0xC0) == 0x80) {}
    return pos;
}

static size_t line_next(const char *buf, size_t len, size_t pos) {
    if (pos < len) pos++;
    while (pos < len && ((unsigned char)buf[pos] & 0xC0) == 0x80) pos++;
    return pos;
}

static void line_set(char *buf, size_t cap, size_t *len, size_t *pos, const char *s) {
    size_t n = strlen(s);
    if (n >= cap) n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
    *len = *pos = n;
}

int cli_line_read(const char *prompt, char *buf, size_t cap, cli_line_hist *h) {
    struct termios old, raw;
    if (cap < 2 || tcgetattr(0, &old) != 0) return CLI_LINE_EOF;
    raw = old;
    raw.c_lflag &= ~(tcflag_t)(ECHO | ICANON | ISIG | IEXTEN);
    raw.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tcsetattr(0, TCSANOW, &raw);
    size_t len = 0, pos = 0;
    int hi = h ? h->n : 0, rc = CLI_LINE_OK;
    buf[0] = 0;
    line_redraw(prompt, buf, len, pos);
    for (;;) {
        unsigned char c;
        if (read(0, &c, 1) != 1) {
            rc = CLI_LINE_EOF;
            break;
        }
        if (c == '\r' || c == '\n') break;
        if (c == 3) { rc = CLI_LINE_INTERRUPT; break; }             /* Ctrl-C */
        if (c == 4 && len == 0) { rc = CLI_LINE_EOF; break; }       /* Ctrl-D */
        if (c == 1) pos = 0;                                        /* Ctrl-A */
        else if (c == 5) pos = len;                                 /* Ctrl-E */
        else if (c == 21) { memmove(buf, buf + pos, len - pos); len -= pos; pos = 0; } /* Ctrl-U */
        else if (c == 11) len = pos;                                /* Ctrl-K */
        else if (c == 127 || c == 8) {                              /* Backspace */
            size_t p = line_prev(buf, pos);
            memmove(buf + p, buf + pos, len - pos);
            len -= pos - p;
            pos = p;
        } else if (c == 27) {                                       /* escape sequences */
            unsigned char s[3];
            if (read(0, &s[0], 1) != 1 || read(0, &s[1], 1) != 1) continue;
            if (s[0] != '[' && s[0] != 'O') continue;
            if (s[1] >= '0' && s[1] <= '9') { /* ESC [ n ~ */
                if (read(0, &s[2], 1) != 1 || s[2] != '~') continue;
                if (s[1] == '3' && pos < len) { /* Delete */
                    size_t n = line_next(buf, len, pos);
                    memmove(buf + pos, buf + n, len - n);
                    len -= n - pos;
                } else if (s[1] == '1' || s[1] == '7') pos = 0;
                else if (s[1] == '4' || s[1] == '8') pos = len;
            } else if (s[1] == 'D') pos = line_prev(buf, pos);
            else if (s[1] == 'C') pos = line_next(buf, len, pos);
            else if (s[1] == 'H') pos = 0;
            else if (s[1] == 'F') pos = len;
            else if ((s[1] == 'A' || s[1] == 'B') && h && h->n) {
                hi += s[1] == 'A' ? -1 : 1;
                if (hi < 0) hi = 0;
                if (hi >= h->n) { hi = h->n; line_set(buf, cap, &len, &pos, ""); }
                else line_set(buf, cap, &len, &pos, h->items[hi]);
            }
        } else if (c >= 32 && len + 1 < cap) {
            memmove(buf + pos + 1, buf + pos, len - pos);
            buf[pos++] = (char)c;
            len++;
        }
        buf[len] = 0;
        line_redraw(prompt, buf, len, pos);
    }
    buf[len] = 0;
    tcsetattr(0, TCSANOW, &old);
    if (write(1, "\r\n", 2) < 0) return CLI_LINE_EOF;
    return rc;
}

void cli_line_hist_add(cli_line_hist *h, const char *line) {
    if (!*line || (h->n && !strcmp(h->items[h->n - 1], line))) return;
    if (h->n == 256) {
        free(h->items[0]);
        memmove(h->items, h->items + 1, 255 * sizeof *h->items);
        h->n--;
    }
    size_t n = strlen(line);
    char *c = malloc(n + 1);
    if (!c) return;
    memcpy(c, line, n + 1);
    h->items[h->n++] = c;
}

void cli_line_hist_free(cli_line_hist *h) {
    for (int i = 0; i < h->n; i++) free(h->items[i]);
    h->n = 0;
}
