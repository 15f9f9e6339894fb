#!/usr/bin/env python3
# jinja_basic_gen.py — regenerates the case table of jinja_basic.c with Python Jinja2
# (the reference implementation) in transformers' chat-template environment:
#   python3 tests/unit/jinja_basic_gen.py > table.inc   (then paste it over the table)
# Needs jinja2 (3.1.x). Not run by the build.
CTX = {"messages":[{"role":"system","content":"  Be brief.  "},{"role":"user","content":"Hi <there>"},{"role":"assistant","content":"<think>r</think>\n\nHello","tool_calls":[{"type":"function","function":{"name":"f","arguments":{"a":1,"b":[True,None,"x\"y"]}}}]}],
       "n":7,"f":2.5,"s":"Hello World","e":"","l":[3,1,2],"d":{"b":1,"a":2},"t":True,"u8":"héllo wörld","neg":-3,"nested":{"x":{"y":"deep"}}}
T = [
 # text, output, whitespace control, trim/lstrip
 "plain text", "a{{ 1 }}b", "a {{- 1 -}} b", "  {% if true %}\nX\n  {% endif %}\nY", "  {%+ if true %}X{% endif %}",
 "{% if true -%}\n  X  \n{%- endif %}", "A{# comment #}B", "  {# c #}\nZ", "x\n", "x\n\n", "a\r\nb", "{% if true +%}\nX{% endif %}",
 "{{ 'a' }}{# multi\nline #}{{ 'b' }}",
 "{% raw %}\n  {{ x }}\n  {% endraw %}\nafter", "a  {%- raw -%}  {{ y }}  {%- endraw -%}  b", "  {% raw %}{% if %}{%endraw%}\nY",
 # literals and printing
 "{{ 42 }}|{{ -7 }}|{{ 2.5 }}|{{ 1e3 }}|{{ 1_000 }}|{{ 0.1 + 0.2 }}", "{{ true }}{{ True }}{{ none }}{{ None }}{{ false }}",
 "{{ [1, 'a', none, true, 2.0] }}", "{{ {'k': 'v', 'n': [1]} }}", "{{ (1,) }}{{ (1, 'x') }}{{ () }}", "{{ \"it's\" }}{{ ['it\\'s', \"q\\\"\"] }}",
 "{{ 'a\\tb\\n\\\\\\x41\\u00e9' }}", "{{ 'a' 'b' }}", "{{ ['\\n', 'é', '\\x01'] }}", "{{ 1.0 }}{{ 1e16 }}{{ 1.5e-5 }}{{ 123456789.0 }}{{ -0.0 }}",
 # operators
 "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 6 / 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }}",
 "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 10 - 2 - 3 }}",
 "{{ 'a' + 'b' }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ [0] * 3 }} {{ 1 ~ 'x' ~ none }} {{ n ~ f }}",
 "{{ 1 == 1.0 }} {{ 1 != 2 }} {{ 'a' < 'b' }} {{ [1,2] < [1,3] }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ true == 1 }}",
 "{{ 'ell' in s }} {{ 2 in l }} {{ 'a' in d }} {{ 'z' not in d }} {{ 5 not in l }}",
 "{{ 0 or 'x' }} {{ 'y' and 'z' }} {{ '' or [] }} {{ not 0 }} {{ not n }} {{ none and 1 }}",
 "{{ 'yes' if t else 'no' }} {{ 'yes' if e else 'no' }} [{{ 'x' if false }}]",
 # attribute, subscript, slices
 "{{ messages[0].role }} {{ messages[1]['content'] }} {{ messages[-1].role }} {{ nested.x.y }} {{ nested['x']['y'] }}",
 "{{ s[0] }}{{ s[-1] }}{{ s[1:4] }}{{ s[:2] }}{{ s[::-1] }}{{ s[::2] }}{{ l[1:] }}{{ l[::-1] }}{{ u8[1] }}{{ u8[::-1] }}{{ l[5:9] }}{{ s[-3:] }}",
 "[{{ d.zz }}][{{ messages[9] }}][{{ s.nope }}]", "{{ l.0 }}",
 # if / for / set
 "{% if n > 10 %}big{% elif n > 5 %}mid{% else %}small{% endif %}",
 "{% for m in messages %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
 "{% for x in l %}{{ loop.previtem }}>{{ x }}<{{ loop.nextitem }}|{% endfor %}",
 "{% for x in l %}{{ loop.cycle('a', 'b') }}{% endfor %}",
 "{% for x in [] %}x{% else %}empty{% endfor %}", "{% for x in l if x > 1 %}{{ x }}{{ loop.length }}{{ loop.last }} {% endfor %}",
 "{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}", "{% for k in d %}{{ k }}{% endfor %}", "{% for c in 'héé' %}[{{ c }}]{% endfor %}",
 "{% for x in l %}{% if x == 1 %}{% break %}{% endif %}{{ x }}{% endfor %}", "{% for x in l %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}",
 "{% for x in range(3) %}{% for y in range(2) %}{{ loop.index }}{% endfor %}{{ loop.index }}|{% endfor %}",
 "{% for x in l %}{% continue %}{% else %}E1{% endfor %}{% for x in l %}{% break %}{% else %}E2{% endfor %}{% for x in l %}{{ x }}{% if x == 1 %}{% break %}{% endif %}{% else %}E3{% endfor %}",
 "{% for x in undefined_var %}x{% endfor %}ok",
 "{% set x = 5 %}{{ x }}{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = 1, 2 %}{{ c }}",
 "{% set x = 1 %}{% for i in l %}{% set x = i %}{% endfor %}{{ x }}",
 "{% set ns = namespace(v=0, s='') %}{% for i in l %}{% set ns.v = ns.v + i %}{% endfor %}{{ ns.v }}{{ ns.s }}",
 "{% set ns = namespace() %}{% set ns.x = 'X' %}{{ ns.x }}",
 "{% set blk %}  inner {{ n }}  {% endset %}[{{ blk }}]", "{% set blk | trim | upper %}  inner  {% endset %}[{{ blk }}]",
 "{% filter upper %}abc{{ s }}{% endfilter %}",
 # macros
 "{% macro m(a, b=2, c='z') %}[{{ a }}{{ b }}{{ c }}]{% endmacro %}{{ m(1) }}{{ m(1, 3) }}{{ m(1, c='q') }}{{ m() }}",
 "{% macro rec(k) %}{% if k > 0 %}{{ k }}{{ rec(k - 1) }}{% endif %}{% endmacro %}{{ rec(4) }}",
 "{% set g = 'G' %}{% macro m() %}{{ g }}{{ n }}{% endmacro %}{{ m() }}",
 "{% for a in l %}{% macro m() %}<{{ a }}>{% endmacro %}{{ m() }}{% endfor %}{% macro o(a) %}{% macro i() %}[{{ a }}]{% endmacro %}{{ i() }}{% endmacro %}{{ o(5) }}",
 # filters
 "[{{ '  a b  ' | trim }}][{{ 'xxaxx' | trim('x') }}][{{ s | length }}][{{ l | count }}][{{ u8 | length }}][{{ d | length }}]",
 "{{ s | lower }} {{ s | upper }} {{ 'hello wORLD' | title }} {{ 'hELLO' | capitalize }} {{ u8 | upper }}",
 "{{ s | replace('o', '0') }} {{ s | replace('l', 'L', 2) }} {{ l | join(', ') }} {{ l | join }} {{ messages | map(attribute='role') | join('/') }}",
 "{{ undefined_var | default('dflt') }} {{ e | default('dflt') }} {{ e | default('dflt', true) }} {{ n | d(0) }}",
 "{{ l | first }} {{ l | last }} {{ s | first }} {{ d | items | list }} {{ 'ab' | list }} {{ d | list }}",
 "{{ messages | selectattr('role', 'equalto', 'user') | list | length }} {{ messages | rejectattr('role', 'eq', 'user') | map(attribute='role') | list }}",
 "{{ l | select('odd') | list }} {{ l | reject('odd') | list }} {{ [0, 1, '', 'a'] | select | list }} {{ l | select('gt', 1) | list }} {{ l | map('string') | list }}",
 "{{ messages | selectattr('tool_calls', 'defined') | list | length }} {{ messages | selectattr('tool_calls') | list | length }}",
 "{{ d | tojson }} {{ l | tojson }} {{ messages[2].tool_calls | tojson }} {{ 'é\"\\n' | tojson }} {{ none | tojson }} {{ 2.5 | tojson }}",
 "{{ messages[2].tool_calls[0] | tojson(indent=2) }}", "{{ messages | tojson(separators=(',', ':')) }} {{ u8 | tojson(ensure_ascii=true) }} {{ d | tojson(indent=1, separators=(', ', ' = ')) }}", "{{ d | tojson(sort_keys=true) }}{{ [] | tojson(indent=2) }}{{ {} | tojson }}",
 "{{ n | string }}{{ l | string }} {{ '42' | int + 1 }} {{ '4.7' | int }} {{ 'x' | int }} {{ 4.7 | int }} {{ '2.5' | float }} {{ 3 | float }}",
 "{{ 2.5 | round }} {{ 3.5 | round }} {{ 2.567 | round(2) }} {{ 2.1 | round(method='ceil') }} {{ neg | abs }} {{ -2.5 | abs }}",
 "{{ [3, 1, 3, 2, 1] | unique | list }} {{ ['a', 'A', 'b'] | unique | list }} {{ l | sort }} {{ l | sort(reverse=true) }} {{ ['b', 'A', 'c'] | sort }} {{ d | dictsort }}",
 "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}", "{{ l | reverse | list }}{{ s | reverse }}{{ l | min }}{{ l | max }}{{ l | sum }}",
 "{{ '<a>&' | escape }} {{ s | safe }}",
 "{{ l | title }} {{ \"it's a-b (c) [d]\" | title }} {{ \"it's a-b\".title() }} {{ true | round }} {{ 7 | round(1) }} {{ nope is callable }} {{ false | select | list }}",
 # tests
 "{{ n is defined }} {{ nope is defined }} {{ nope is undefined }} {{ none is none }} {{ n is number }} {{ f is float }} {{ n is integer }} {{ t is boolean }}",
 "{{ s is string }} {{ d is mapping }} {{ l is iterable }} {{ s is iterable }} {{ n is iterable }} {{ l is sequence }} {{ n is sequence }} {{ t is true }} {{ t is false }}",
 "{{ n is divisibleby 7 }} {{ n is odd }} {{ n is even }} {{ n is equalto 7 }} {{ n is eq 8 }} {{ n is not none }} {{ 'ab' is lower }} {{ 2 is in l }} {{ n is gt 3 }}",
 "{{ not n is defined }} {{ messages[0].role is not equalto 'user' }}",
 # string methods
 "[{{ '  x  '.strip() }}][{{ 'xxyxx'.strip('x') }}][{{ '  x  '.lstrip() }}][{{ '  x  '.rstrip() }}][{{ '\\n\\nx\\n'.lstrip('\\n') }}]",
 "{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a<t>b<t>c'.split('<t>')[-1] }} {{ 'a,b,c'.rsplit(',', 1) }}",
 "{{ s.startswith('Hell') }} {{ s.endswith('xx') }} {{ s.startswith(('x', 'H')) }} {{ s.upper() }} {{ s.lower() }} {{ s.replace('l', '') }} {{ 'ab cd'.title() }} {{ 'aBC'.capitalize() }}",
 "{{ s.find('o') }} {{ s.rfind('o') }} {{ s.find('z') }} {{ s.count('l') }} {{ '-'.join(['a', 'b']) }} {{ '12'.isdigit() }} {{ 'a\\nb'.splitlines() }}",
 "{{ d.get('a') }} {{ d.get('zz', 'dflt') }} {{ d.get('zz') }} {{ d.keys() | list }} {{ d.values() | list }} {{ d.items() | list }} {{ l.index(2) }}",
 # globals
 "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(5, 0, -2) | list }} {{ range(0) | list }}",
 "{{ dict(a=1, b='x') }} {{ namespace(a=1).a }}",
 "{{ '%s and %d' % ('a', 3) }} {{ '%s!' % s }} {{ '%5.2f|%-4d|%03d|%r|%%' % (3.14159, 7, 5, 'x') }} {{ '%s-%s' | format('a', 1) }}",
]
ERR = [
 "{{ nope.attr }}", "{{ nope() }}", "{{ nope + 1 }}", "{{ 1 + 'a' }}", "{{ 1 / 0 }}", "{{ 'a' < 1 }}",
 "{{ raise_exception('boom') }}", "{{ nope | tojson }}", "{% set x = 1 %}{{ x.y.z }}", "{{ [1, 2].append(3) }}", "{% for x in none %}{% endfor %}", "{{ n | nofilter }}", "{{ n is notest }}",
]
import json,sys
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.exceptions import TemplateError
env=ImmutableSandboxedEnvironment(trim_blocks=True,lstrip_blocks=True,extensions=['jinja2.ext.loopcontrols'])
def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
env.filters['tojson']=tojson
def raise_exception(m): raise TemplateError(m)
env.globals['raise_exception']=raise_exception
def c(s):
    out='"'
    for ch in s.encode():
        if ch==0x22: out+='\\"'
        elif ch==0x5c: out+='\\\\'
        elif ch==10: out+='\\n'
        elif ch==13: out+='\\r'
        elif ch==9: out+='\\t'
        elif ch<32 or ch>=127: out+='\\%03o'%ch
        else: out+=chr(ch)
    return out+'"'
print('/* generated by Python Jinja2 %s (the reference implementation) */' % __import__('jinja2').__version__)
print('static const char *const ctx_json = %s;' % c(json.dumps(CTX)))
print('static const struct { const char *tmpl, *want; } cases[] = {')
for t in T:
    try: out=env.from_string(t).render(**CTX)
    except Exception as e:
        print('ERRGEN',repr(t),e,file=sys.stderr); continue
    print('    {%s,\n     %s},' % (c(t), c(out)))
print('};')
print('static const char *const error_cases[] = {')
for t in ERR:
    try:
        out=env.from_string(t).render(**CTX); print('NOERR',repr(t),repr(out),file=sys.stderr)
    except Exception as e:
        print('    %s, /* %s: %s */' % (c(t), type(e).__name__, str(e).replace('*/','*_/')[:60]))
print('};')
