package syntax

import (
	"errors"
	"strings"
	"testing"
)

// validCases are queries Loki accepts, with the tree each must give (in the
// notation of sexpr). Every one is also checked for the String round trip.
var validCases = []struct{ in, want string }{
	// Stream selectors.
	{`{foo="bar"}`, `{foo="bar"}`},
	{`{ foo = "bar" }`, `{foo="bar"}`},
	{`{foo="bar", bar!="baz"}`, `{foo="bar",bar!="baz"}`},
	{`{foo=~"ba.+", bar!~"baz|qux"}`, `{foo=~"ba.+",bar!~"baz|qux"}`},
	{"{foo=~`bar\\w+`}", `{foo=~"bar\\w+"}`},
	{`{foo="bar\"baz\n"}`, `{foo="bar\"baz\n"}`},
	{`{foo="caf\u00e9"}`, `{foo="café"}`},
	{`{app="#"}`, `{app="#"}`},
	{`{app="", job="a"}`, `{app="",job="a"}`},
	{`{__error__!=""}`, `{__error__!=""}`},
	{`{ip="1.2.3.4", rate="x", sum="y"}`, `{ip="1.2.3.4",rate="x",sum="y"}`},
	{"{foo=\"bar\"} # a comment", `{foo="bar"}`},
	{"# leading comment\n{foo=\"bar\"}\n| json # trailing", `{foo="bar"} | json`},
	{"{foo=\"bar\"}\n#\n|= \"x\"", `{foo="bar"} | |= "x"`},
	{`({foo="bar"})`, `{foo="bar"}`},
	{`(({foo="bar"} |= "x"))`, `{foo="bar"} | |= "x"`},

	// Line filters.
	{`{foo="bar"} |= "baz"`, `{foo="bar"} | |= "baz"`},
	{`{foo="bar"} != "baz"`, `{foo="bar"} | != "baz"`},
	{`{foo="bar"} |~ "ba[rz]"`, `{foo="bar"} | |~ "ba[rz]"`},
	{`{foo="bar"} !~ "ba[rz]"`, `{foo="bar"} | !~ "ba[rz]"`},
	{`{foo="bar"} |> "<_> error <_>"`, `{foo="bar"} | |> "<_> error <_>"`},
	{`{foo="bar"} !> "<_> debug"`, `{foo="bar"} | !> "<_> debug"`},
	{`{foo="bar"} |= "a" |~ "b" != "c" !~ "d"`, `{foo="bar"} | |= "a" | |~ "b" | != "c" | !~ "d"`},
	{`{foo="bar"} |= "a" or "b"`, `{foo="bar"} | |= "a" or "b"`},
	{`{foo="bar"} != "a" or "b" or "c"`, `{foo="bar"} | != "a" or "b" or "c"`},
	{`{foo="bar"} |~ "a" or "b" |= "c"`, `{foo="bar"} | |~ "a" or "b" | |= "c"`},
	{`{foo="bar"} |> "a <_>" or "b <_>"`, `{foo="bar"} | |> "a <_>" or "b <_>"`},
	{`{foo="bar"} |= ip("10.0.0.0/8")`, `{foo="bar"} | |= ip("10.0.0.0/8")`},
	{`{foo="bar"} != ip("10.0.0.1-10.0.0.9")`, `{foo="bar"} | != ip("10.0.0.1-10.0.0.9")`},
	{`{foo="bar"} |= "a" or ip("::1")`, `{foo="bar"} | |= "a" or ip("::1")`},
	{`{foo="bar"} |= ip("1.2.3.4") or "b" or "c"`, `{foo="bar"} | |= ip("1.2.3.4") or "b" or "c"`},
	{"{foo=\"bar\"} |~ `\\d+ms`", `{foo="bar"} | |~ "\\d+ms"`},
	{`{foo="bar"} |= ""`, `{foo="bar"} | |= ""`},
	{`{foo="bar"}|="a"|~"b"`, `{foo="bar"} | |= "a" | |~ "b"`},

	// Parsers and formatters.
	{`{foo="bar"} | json`, `{foo="bar"} | json`},
	{`{foo="bar"} | json a="b.c", l2="list[0]", l3`, `{foo="bar"} | json(a="b.c",l2="list[0]",l3="l3")`},
	{`{foo="bar"} | json bob="top.sub[\"index\"]"`, `{foo="bar"} | json(bob="top.sub[\"index\"]")`},
	{`{foo="bar"} | logfmt`, `{foo="bar"} | logfmt`},
	{`{foo="bar"} | logfmt --strict`, `{foo="bar"} | logfmt[strict]`},
	{`{foo="bar"} | logfmt --keep-empty`, `{foo="bar"} | logfmt[keep-empty]`},
	{`{foo="bar"} | logfmt --strict --keep-empty`, `{foo="bar"} | logfmt[strict][keep-empty]`},
	{`{foo="bar"} | logfmt --keep-empty --strict msg, lvl="level"`, `{foo="bar"} | logfmt[strict][keep-empty](msg="msg",lvl="level")`},
	{`{foo="bar"} | logfmt msg`, `{foo="bar"} | logfmt(msg="msg")`},
	{`{foo="bar"} | regexp "(?P<method>\\w+) (?P<path>\\S+)"`, `{foo="bar"} | regexp("(?P<method>\\w+) (?P<path>\\S+)")`},
	{"{foo=\"bar\"} | regexp `(?P<a>x)(y)`", `{foo="bar"} | regexp("(?P<a>x)(y)")`},
	{`{foo="bar"} | pattern "<ip> - <_> \"<method> <path>\""`, `{foo="bar"} | pattern("<ip> - <_> \"<method> <path>\"")`},
	{`{foo="bar"} | pattern "<_> <a>"`, `{foo="bar"} | pattern("<_> <a>")`},
	{`{foo="bar"} | unpack`, `{foo="bar"} | unpack`},
	{`{foo="bar"} | decolorize`, `{foo="bar"} | decolorize`},
	{`{foo="bar"} | line_format "{{.a}} {{ __line__ }}"`, `{foo="bar"} | line_format("{{.a}} {{ __line__ }}")`},
	{"{foo=\"bar\"} | line_format `{{.a | ToUpper}}`", `{foo="bar"} | line_format("{{.a | ToUpper}}")`},
	{`{foo="bar"} | label_format a=b`, `{foo="bar"} | label_format(a=b)`},
	{`{foo="bar"} | label_format a=b, c="{{.d}}"`, `{foo="bar"} | label_format(a=b,c="{{.d}}")`},
	{`{foo="bar"} | label_format a=b | label_format a=c`, `{foo="bar"} | label_format(a=b) | label_format(a=c)`},
	{`{foo="bar"} | drop a, b, c`, `{foo="bar"} | drop(a,b,c)`},
	{`{foo="bar"} | drop a, b="v", c=~"re.*", d!="x", e!~"y"`, `{foo="bar"} | drop(a,b="v",c=~"re.*",d!="x",e!~"y")`},
	{`{foo="bar"} | keep a, b="v"`, `{foo="bar"} | keep(a,b="v")`},
	{`{foo="bar"} | json | keep level | drop __error__, __error_details__`, `{foo="bar"} | json | keep(level) | drop(__error__,__error_details__)`},
	{`{foo="bar"} |= "x" | json | line_format "{{.msg}}" |= "y"`, `{foo="bar"} | |= "x" | json | line_format("{{.msg}}") | |= "y"`},
	{`{foo="bar"} | JSON | LOGFMT`, `{foo="bar"} | json | logfmt`},

	// Label filters.
	{`{foo="bar"} | level="error"`, `{foo="bar"} | lf(level="error")`},
	{`{foo="bar"} | level!="error"`, `{foo="bar"} | lf(level!="error")`},
	{`{foo="bar"} | level=~"err.*"`, `{foo="bar"} | lf(level=~"err.*")`},
	{`{foo="bar"} | level!~"debug|info"`, `{foo="bar"} | lf(level!~"debug|info")`},
	{`{foo="bar"} | __error__=""`, `{foo="bar"} | lf(__error__="")`},
	{`{foo="bar"} | status == 500`, `{foo="bar"} | lf(num(status==500))`},
	{`{foo="bar"} | status = 500`, `{foo="bar"} | lf(num(status==500))`},
	{`{foo="bar"} | status != 500`, `{foo="bar"} | lf(num(status!=500))`},
	{`{foo="bar"} | status > 500`, `{foo="bar"} | lf(num(status>500))`},
	{`{foo="bar"} | status >= 500`, `{foo="bar"} | lf(num(status>=500))`},
	{`{foo="bar"} | status < 500`, `{foo="bar"} | lf(num(status<500))`},
	{`{foo="bar"} | status <= 500`, `{foo="bar"} | lf(num(status<=500))`},
	{`{foo="bar"} | temp > -1.5`, `{foo="bar"} | lf(num(temp>-1.5))`},
	{`{foo="bar"} | temp > +2`, `{foo="bar"} | lf(num(temp>2))`},
	{`{foo="bar"} | n > 1e3`, `{foo="bar"} | lf(num(n>1000))`},
	{`{foo="bar"} | n > .5`, `{foo="bar"} | lf(num(n>0.5))`},
	{`{foo="bar"} | latency > 10s`, `{foo="bar"} | lf(dur(latency>10s))`},
	{`{foo="bar"} | latency >= 1.5h`, `{foo="bar"} | lf(dur(latency>=1h30m0s))`},
	{`{foo="bar"} | latency < 250ms`, `{foo="bar"} | lf(dur(latency<250ms))`},
	{`{foo="bar"} | latency <= 100us`, `{foo="bar"} | lf(dur(latency<=100µs))`},
	{`{foo="bar"} | latency == 5µs`, `{foo="bar"} | lf(dur(latency==5µs))`},
	{`{foo="bar"} | latency != 3ns`, `{foo="bar"} | lf(dur(latency!=3ns))`},
	{`{foo="bar"} | age > 1d`, `{foo="bar"} | lf(dur(age>24h0m0s))`},
	{`{foo="bar"} | age > 1w`, `{foo="bar"} | lf(dur(age>168h0m0s))`},
	{`{foo="bar"} | age > 1y`, `{foo="bar"} | lf(dur(age>8760h0m0s))`},
	{`{foo="bar"} | age > 1h30m`, `{foo="bar"} | lf(dur(age>1h30m0s))`},
	{`{foo="bar"} | skew > -5m`, `{foo="bar"} | lf(dur(skew>-5m0s))`},
	{`{foo="bar"} | size > 20MB`, `{foo="bar"} | lf(bytes(size>20000000))`},
	{`{foo="bar"} | size >= 1.5KiB`, `{foo="bar"} | lf(bytes(size>=1536))`},
	{`{foo="bar"} | size < 1kB`, `{foo="bar"} | lf(bytes(size<1000))`},
	{`{foo="bar"} | size = 2GiB`, `{foo="bar"} | lf(bytes(size==2147483648))`},
	{`{foo="bar"} | size != 10B`, `{foo="bar"} | lf(bytes(size!=10))`},
	{`{foo="bar"} | addr = ip("1.2.3.4")`, `{foo="bar"} | lf(ip(addr=="1.2.3.4"))`},
	{`{foo="bar"} | addr != ip("192.168.0.0/16")`, `{foo="bar"} | lf(ip(addr!="192.168.0.0/16"))`},
	{`{foo="bar"} | ip = ip("::1")`, `{foo="bar"} | lf(ip(ip=="::1"))`},
	{`{foo="bar"} | a="1" and b="2"`, `{foo="bar"} | lf(and(a="1", b="2"))`},
	{`{foo="bar"} | a="1", b="2"`, `{foo="bar"} | lf(and(a="1", b="2"))`},
	{`{foo="bar"} | a="1" b="2"`, `{foo="bar"} | lf(and(a="1", b="2"))`},
	{`{foo="bar"} | a="1" or b="2"`, `{foo="bar"} | lf(or(a="1", b="2"))`},
	{`{foo="bar"} | a="1" or b="2" and c="3"`, `{foo="bar"} | lf(or(a="1", and(b="2", c="3")))`},
	{`{foo="bar"} | a="1" and b="2" or c="3"`, `{foo="bar"} | lf(or(and(a="1", b="2"), c="3"))`},
	{`{foo="bar"} | (a="1" or b="2") and c="3"`, `{foo="bar"} | lf(and(or(a="1", b="2"), c="3"))`},
	{`{foo="bar"} | a="1" or b="2" or c="3"`, `{foo="bar"} | lf(or(or(a="1", b="2"), c="3"))`},
	{`{foo="bar"} | a="1" or (b="2" or c="3")`, `{foo="bar"} | lf(or(a="1", or(b="2", c="3")))`},
	{`{foo="bar"} | a="1", b="2", c="3"`, `{foo="bar"} | lf(and(and(a="1", b="2"), c="3"))`},
	{`{foo="bar"} | a="1", b="2" or c="3"`, `{foo="bar"} | lf(and(a="1", or(b="2", c="3")))`},
	{`{foo="bar"} | a="1" or b="2", c="3"`, `{foo="bar"} | lf(or(a="1", and(b="2", c="3")))`},
	{`{foo="bar"} | foo="bar" buzz!="blip", blop=~"boop" or fuzz==5`, `{foo="bar"} | lf(and(and(foo="bar", buzz!="blip"), or(blop=~"boop", num(fuzz==5))))`},
	{`{foo="bar"} | latency >= 250ms or ( status_code < 500 and status_code > 200)`, `{foo="bar"} | lf(or(dur(latency>=250ms), and(num(status_code<500), num(status_code>200))))`},
	{`{foo="bar"} | (duration > 1s or status!= 200) and method!="POST"`, `{foo="bar"} | lf(and(or(dur(duration>1s), num(status!=200)), method!="POST"))`},
	{`{foo="bar"} | a="1" | b > 2`, `{foo="bar"} | lf(a="1") | lf(num(b>2))`},
	{`{foo="bar"} | logfmt | rate="a" | count > 2 | sum_over_time=~"x"`, `{foo="bar"} | logfmt | lf(rate="a") | lf(num(count>2)) | lf(sum_over_time=~"x")`},
	{`{foo="bar"} | bytes > 1KB | duration > 1s`, `{foo="bar"} | lf(bytes(bytes>1000)) | lf(dur(duration>1s))`},
	{`{foo="bar"} | x > -0`, `{foo="bar"} | lf(dur(x>0s))`},

	// Range aggregations.
	{`count_over_time({foo="bar"}[5m])`, `count_over_time(range({foo="bar"}, 5m0s))`},
	{`rate({foo="bar"}[1h])`, `rate(range({foo="bar"}, 1h0m0s))`},
	{`bytes_over_time({foo="bar"}[12m])`, `bytes_over_time(range({foo="bar"}, 12m0s))`},
	{`bytes_rate({foo="bar"}[30s])`, `bytes_rate(range({foo="bar"}, 30s))`},
	{`absent_over_time({foo="bar"}[1w])`, `absent_over_time(range({foo="bar"}, 168h0m0s))`},
	{`rate({foo="bar"}[1y])`, `rate(range({foo="bar"}, 8760h0m0s))`},
	{`rate({foo="bar"}[1h30m])`, `rate(range({foo="bar"}, 1h30m0s))`},
	{`rate({foo="bar"}[100ms])`, `rate(range({foo="bar"}, 100ms))`},
	{`count_over_time({foo="bar"} |= "error" [5m])`, `count_over_time(range({foo="bar"} | |= "error", 5m0s))`},
	{`count_over_time({foo="bar"}[5m] |= "error")`, `count_over_time(range({foo="bar"} | |= "error", 5m0s))`},
	{`count_over_time({foo="bar"}[5m] offset 1h |= "error")`, `count_over_time(range({foo="bar"} | |= "error", 5m0s, offset 1h0m0s))`},
	{`count_over_time({foo="bar"} |= "error" [5m] offset 1h)`, `count_over_time(range({foo="bar"} | |= "error", 5m0s, offset 1h0m0s))`},
	{`count_over_time({foo="bar"}[5m] offset -30s)`, `count_over_time(range({foo="bar"}, 5m0s, offset -30s))`},
	{`count_over_time({foo="bar"}[5m] offset 1.5h)`, `count_over_time(range({foo="bar"}, 5m0s, offset 1h30m0s))`},
	{`count_over_time(({foo="bar"})[5m])`, `count_over_time(range({foo="bar"}, 5m0s))`},
	{`count_over_time(({foo="bar"} |= "x")[5m] offset 5m)`, `count_over_time(range({foo="bar"} | |= "x", 5m0s, offset 5m0s))`},
	{`count_over_time(({foo="bar"}[5m]))`, `count_over_time(range({foo="bar"}, 5m0s))`},
	{`count_over_time((({foo="bar"} | json [5m])))`, `count_over_time(range({foo="bar"} | json, 5m0s))`},
	{`count_over_time({foo="bar"} | json | level="error" [5m])`, `count_over_time(range({foo="bar"} | json | lf(level="error"), 5m0s))`},
	{`sum_over_time({foo="bar"} | unwrap latency [5m])`, `sum_over_time(range({foo="bar"}, 5m0s, unwrap(latency)))`},
	{`sum_over_time({foo="bar"} | json | unwrap bytes(size) [5m])`, `sum_over_time(range({foo="bar"} | json, 5m0s, unwrap(bytes:size)))`},
	{`avg_over_time({foo="bar"} | unwrap duration(d) [5m]) by (a)`, `avg_over_time(range({foo="bar"}, 5m0s, unwrap(duration:d))) by(a)`},
	{`max_over_time({foo="bar"} | unwrap duration_seconds(d) [5m]) without (a, b)`, `max_over_time(range({foo="bar"}, 5m0s, unwrap(duration_seconds:d))) without(a,b)`},
	{`min_over_time({foo="bar"} | unwrap x | __error__="" [5m]) by ()`, `min_over_time(range({foo="bar"}, 5m0s, unwrap(x | __error__=""))) by()`},
	{`max_over_time({foo="bar"} | unwrap x | __error__="" | x > 1 or y < 2 [5m] offset 1m)`, `max_over_time(range({foo="bar"}, 5m0s, offset 1m0s, unwrap(x | __error__="" | or(num(x>1), num(y<2)))))`},
	{`max_over_time({foo="bar"}[5m] | unwrap x)`, `max_over_time(range({foo="bar"}, 5m0s, unwrap(x)))`},
	{`max_over_time({foo="bar"}[5m] offset 1m | unwrap x)`, `max_over_time(range({foo="bar"}, 5m0s, offset 1m0s, unwrap(x)))`},
	{`max_over_time({foo="bar"}[5m] | json | unwrap x | __error__="")`, `max_over_time(range({foo="bar"} | json, 5m0s, unwrap(x | __error__="")))`},
	{`max_over_time(({foo="bar"} | unwrap x)[5m])`, `max_over_time(range({foo="bar"}, 5m0s, unwrap(x)))`},
	{`max_over_time(({foo="bar"} | json | unwrap x)[5m] offset 2m)`, `max_over_time(range({foo="bar"} | json, 5m0s, offset 2m0s, unwrap(x)))`},
	{`stdvar_over_time({foo="bar"} | unwrap x [5m])`, `stdvar_over_time(range({foo="bar"}, 5m0s, unwrap(x)))`},
	{`stddev_over_time({foo="bar"} | unwrap x [5m]) by (a)`, `stddev_over_time(range({foo="bar"}, 5m0s, unwrap(x))) by(a)`},
	{`first_over_time({foo="bar"} | unwrap x [5m]) by (a)`, `first_over_time(range({foo="bar"}, 5m0s, unwrap(x))) by(a)`},
	{`last_over_time({foo="bar"} | unwrap x [5m]) without (a)`, `last_over_time(range({foo="bar"}, 5m0s, unwrap(x))) without(a)`},
	{`rate({foo="bar"} | unwrap x [5m])`, `rate(range({foo="bar"}, 5m0s, unwrap(x)))`},
	{`rate_counter({foo="bar"} | unwrap x [5m])`, `rate_counter(range({foo="bar"}, 5m0s, unwrap(x)))`},
	{`absent_over_time({foo="bar"} | unwrap x [5m])`, `absent_over_time(range({foo="bar"}, 5m0s, unwrap(x)))`},
	{`quantile_over_time(0.99, {foo="bar"} | unwrap x [5m])`, `quantile_over_time(0.99, range({foo="bar"}, 5m0s, unwrap(x)))`},
	{`quantile_over_time(.5, {foo="bar"} | json | unwrap x [5m]) by (a, b)`, `quantile_over_time(0.5, range({foo="bar"} | json, 5m0s, unwrap(x))) by(a,b)`},
	{`Count_Over_Time({foo="bar"}[5m])`, `count_over_time(range({foo="bar"}, 5m0s))`},
	{`sum_over_time({foo="bar"} | unwrap bytes [5m])`, `sum_over_time(range({foo="bar"}, 5m0s, unwrap(bytes)))`},

	// Vector aggregations.
	{`sum(rate({foo="bar"}[5m]))`, `sum(rate(range({foo="bar"}, 5m0s)))`},
	{`sum by (a) (rate({foo="bar"}[5m]))`, `sum(rate(range({foo="bar"}, 5m0s))) by(a)`},
	{`sum(rate({foo="bar"}[5m])) by (a, b)`, `sum(rate(range({foo="bar"}, 5m0s))) by(a,b)`},
	{`sum without (a) (rate({foo="bar"}[5m]))`, `sum(rate(range({foo="bar"}, 5m0s))) without(a)`},
	{`sum(rate({foo="bar"}[5m])) by ()`, `sum(rate(range({foo="bar"}, 5m0s))) by()`},
	{`sum(rate({foo="bar"}[5m])) without ()`, `sum(rate(range({foo="bar"}, 5m0s))) without()`},
	{`avg(count_over_time({foo="bar"}[5m]))`, `avg(count_over_time(range({foo="bar"}, 5m0s)))`},
	{`min(count_over_time({foo="bar"}[5m]))`, `min(count_over_time(range({foo="bar"}, 5m0s)))`},
	{`max(count_over_time({foo="bar"}[5m]))`, `max(count_over_time(range({foo="bar"}, 5m0s)))`},
	{`count(count_over_time({foo="bar"}[5m]))`, `count(count_over_time(range({foo="bar"}, 5m0s)))`},
	{`stddev(count_over_time({foo="bar"}[5m]))`, `stddev(count_over_time(range({foo="bar"}, 5m0s)))`},
	{`stdvar(count_over_time({foo="bar"}[5m]))`, `stdvar(count_over_time(range({foo="bar"}, 5m0s)))`},
	{`topk(10, count_over_time({foo="bar"}[5m]))`, `topk(10, count_over_time(range({foo="bar"}, 5m0s)))`},
	{`topk(10,count_over_time({foo="bar"}[5m])) without (a)`, `topk(10, count_over_time(range({foo="bar"}, 5m0s))) without(a)`},
	{`topk by (a) (3, count_over_time({foo="bar"}[5m]))`, `topk(3, count_over_time(range({foo="bar"}, 5m0s))) by(a)`},
	{`bottomk(30, sum(rate({foo="bar"}[5m])) by (a))`, `bottomk(30, sum(rate(range({foo="bar"}, 5m0s))) by(a))`},
	{`approx_topk(5, count_over_time({foo="bar"}[5m]))`, `approx_topk(5, count_over_time(range({foo="bar"}, 5m0s)))`},
	{`sort(count_over_time({foo="bar"}[5m]))`, `sort(count_over_time(range({foo="bar"}, 5m0s)))`},
	{`sort_desc(count_over_time({foo="bar"}[5m]))`, `sort_desc(count_over_time(range({foo="bar"}, 5m0s)))`},
	{`sort(count_over_time({foo="bar"}[5m])) by ()`, `sort(count_over_time(range({foo="bar"}, 5m0s))) by()`},
	{`max(sum(count_over_time({foo="bar"}[5m])) without (a, b)) by (a)`, `max(sum(count_over_time(range({foo="bar"}, 5m0s))) without(a,b)) by(a)`},
	{`sum(vector(0))`, `sum(vector(0))`},
	{`sum(1)`, `sum(1)`},
	{`sum(2 * rate({foo="bar"}[5m]))`, `sum((2 * rate(range({foo="bar"}, 5m0s))))`},
	{`SUM BY (a) (rate({foo="bar"}[5m]))`, `sum(rate(range({foo="bar"}, 5m0s))) by(a)`},
	{`sum by(a)(rate({foo="bar"}[5m]))`, `sum(rate(range({foo="bar"}, 5m0s))) by(a)`},

	// Binary operations.
	{`1`, `1`},
	{`-1.5`, `-1.5`},
	{`+3`, `3`},
	{`1e3`, `1000`},
	{`1 + 1`, `(1 + 1)`},
	{`1 + 2 * 3`, `(1 + (2 * 3))`},
	{`(1 + 2) * 3`, `((1 + 2) * 3)`},
	{`1 - 2 - 3`, `((1 - 2) - 3)`},
	{`1 - (2 - 3)`, `(1 - (2 - 3))`},
	{`2 ^ 3 ^ 2`, `(2 ^ (3 ^ 2))`},
	{`(2 ^ 3) ^ 2`, `((2 ^ 3) ^ 2)`},
	{`1 + -2 / 1`, `(1 + (-2 / 1))`},
	{`1 + 1 - -1`, `((1 + 1) - -1)`},
	{`5 % 3`, `(5 % 3)`},
	{`1 > 1 < 1`, `((1 > 1) < 1)`},
	{`1 == 1`, `(1 == 1)`},
	{`1 >= bool 1`, `(1 >= bool 1)`},
	{`vector(1) + vector(1)`, `(vector(1) + vector(1))`},
	{`vector(2.5)`, `vector(2.5)`},
	{`sum(rate({a="b"}[5m])) / sum(rate({a="c"}[5m]))`, `(sum(rate(range({a="b"}, 5m0s))) / sum(rate(range({a="c"}, 5m0s))))`},
	{`sum(rate({a="b"}[5m])) * 100`, `(sum(rate(range({a="b"}, 5m0s))) * 100)`},
	{`rate({a="b"}[5m]) > 10`, `(rate(range({a="b"}, 5m0s)) > 10)`},
	{`rate({a="b"}[5m]) > bool 10`, `(rate(range({a="b"}, 5m0s)) > bool 10)`},
	{`rate({a="b"}[5m]) != 10`, `(rate(range({a="b"}, 5m0s)) != 10)`},
	{`rate({a="b"}[5m]) == rate({a="c"}[5m])`, `(rate(range({a="b"}, 5m0s)) == rate(range({a="c"}, 5m0s)))`},
	{`rate({a="b"}[5m]) or rate({a="c"}[5m])`, `(rate(range({a="b"}, 5m0s)) or rate(range({a="c"}, 5m0s)))`},
	{`rate({a="b"}[5m]) and rate({a="c"}[5m])`, `(rate(range({a="b"}, 5m0s)) and rate(range({a="c"}, 5m0s)))`},
	{`rate({a="b"}[5m]) unless rate({a="c"}[5m])`, `(rate(range({a="b"}, 5m0s)) unless rate(range({a="c"}, 5m0s)))`},
	{`rate({a="b"}[5m]) or rate({a="c"}[5m]) and rate({a="d"}[5m])`, `(rate(range({a="b"}, 5m0s)) or (rate(range({a="c"}, 5m0s)) and rate(range({a="d"}, 5m0s))))`},
	{`rate({a="b"}[5m]) > 1 + 2`, `(rate(range({a="b"}, 5m0s)) > (1 + 2))`},
	{`sum(rate({a="b"}[5m])) or vector(0)`, `(sum(rate(range({a="b"}, 5m0s))) or vector(0))`},
	{`sum by (a) (rate({a="b"}[5m])) / on (a) sum by (a) (rate({a="c"}[5m]))`, `(sum(rate(range({a="b"}, 5m0s))) by(a) / on(a) sum(rate(range({a="c"}, 5m0s))) by(a))`},
	{`rate({a="b"}[5m]) / ignoring (x, y) rate({a="c"}[5m])`, `(rate(range({a="b"}, 5m0s)) / ignoring(x,y) rate(range({a="c"}, 5m0s)))`},
	{`rate({a="b"}[5m]) / on () rate({a="c"}[5m])`, `(rate(range({a="b"}, 5m0s)) / on() rate(range({a="c"}, 5m0s)))`},
	{`rate({a="b"}[5m]) / ignoring () rate({a="c"}[5m])`, `(rate(range({a="b"}, 5m0s)) / ignoring() rate(range({a="c"}, 5m0s)))`},
	{`rate({a="b"}[5m]) * on (a) group_left rate({a="c"}[5m])`, `(rate(range({a="b"}, 5m0s)) * on(a) group_left() rate(range({a="c"}, 5m0s)))`},
	{`rate({a="b"}[5m]) * on (a) group_left (b, c) rate({a="c"}[5m])`, `(rate(range({a="b"}, 5m0s)) * on(a) group_left(b,c) rate(range({a="c"}, 5m0s)))`},
	{`rate({a="b"}[5m]) * ignoring (a) group_right () rate({a="c"}[5m])`, `(rate(range({a="b"}, 5m0s)) * ignoring(a) group_right() rate(range({a="c"}, 5m0s)))`},
	{`rate({a="b"}[5m]) > bool on () group_right (a) rate({a="c"}[5m])`, `(rate(range({a="b"}, 5m0s)) > bool on() group_right(a) rate(range({a="c"}, 5m0s)))`},
	{`sum(rate({a="b"}[5m])) by (a) / sum(rate({a="b"}[5m])) by (a) / sum(rate({a="b"}[5m])) by (a)`, `((sum(rate(range({a="b"}, 5m0s))) by(a) / sum(rate(range({a="b"}, 5m0s))) by(a)) / sum(rate(range({a="b"}, 5m0s))) by(a))`},
	{`sum by (job) (count_over_time({ns="tns"} |= "level=error"[5m]) / count_over_time({ns="tns"}[5m])) * 100`, `(sum((count_over_time(range({ns="tns"} | |= "level=error", 5m0s)) / count_over_time(range({ns="tns"}, 5m0s)))) by(job) * 100)`},
	{`1 + count_over_time({app=~".+"}[5m])`, `(1 + count_over_time(range({app=~".+"}, 5m0s)))`},
	{`vector(1) - 1`, `(vector(1) - 1)`},
	{`vector(1)-1`, `(vector(1) - 1)`},
	{`rate({a="b"}[5m]) --1`, `(rate(range({a="b"}, 5m0s)) - -1)`},

	// Functions.
	{`label_replace(rate({foo="bar"}[5m]), "dst", "$1", "src", "(.*)")`, `label_replace(rate(range({foo="bar"}, 5m0s)), "dst", "$1", "src", "(.*)")`},
	{`label_replace(vector(0), "foo", "bar", "", "")`, `label_replace(vector(0), "foo", "bar", "", "")`},
	{`avg(label_replace(count_over_time({foo="bar"}[5h]), "bar", "$1$2", "foo", "(.*).(.*)")) by (bar, foo)`, `avg(label_replace(count_over_time(range({foo="bar"}, 5h0m0s)), "bar", "$1$2", "foo", "(.*).(.*)")) by(bar,foo)`},
	{`label_replace(sum(rate({a="b"}[5m])) + 1, "x", "y", "z", ".*")`, `label_replace((sum(rate(range({a="b"}, 5m0s))) + 1), "x", "y", "z", ".*")`},
	{"sum(rate({cluster=\"beep\"} | msg=~`.*?(GET|POST) /loki/api/(?i)(\\d+[a-z])\\w*/query_range`[1d]))", `sum(rate(range({cluster="beep"} | lf(msg=~".*?(GET|POST) /loki/api/(?i)(\\d+[a-z])\\w*/query_range"), 24h0m0s)))`},
}

func TestParseValid(t *testing.T) {
	if len(validCases) < 150 {
		t.Fatalf("only %d valid cases", len(validCases))
	}
	for _, tc := range validCases {
		t.Run(tc.in, func(t *testing.T) {
			expr, err := ParseExpr(tc.in)
			if err != nil {
				t.Fatalf("ParseExpr(%q): %v", tc.in, err)
			}
			if got := sexpr(expr); got != tc.want {
				t.Fatalf("tree of %q\n got: %s\nwant: %s", tc.in, got, tc.want)
			}
			checkRoundTrip(t, expr)
		})
	}
}

// checkRoundTrip checks that String gives text that parses to the same tree
// and prints the same again.
func checkRoundTrip(t *testing.T, expr Expr) {
	t.Helper()
	s := expr.String()
	again, err := ParseExpr(s)
	if err != nil {
		t.Fatalf("String %q does not parse: %v", s, err)
	}
	if got, want := deepDump(again), deepDump(expr); got != want {
		t.Fatalf("String %q parses to another tree\n got: %s\nwant: %s", s, got, want)
	}
	if s2 := again.String(); s2 != s {
		t.Fatalf("String is not stable: %q then %q", s, s2)
	}
}

// TestString pins the canonical form.
func TestString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{ foo = "bar" , a=~"b"}`, `{foo="bar", a=~"b"}`},
		{"{foo=`bar`}", `{foo="bar"}`},
		{`{foo=~"\\d+"}`, "{foo=~`\\d+`}"},
		{`{foo="bar"}|="a"or"b"!=ip("1.2.3.4")`, `{foo="bar"} |= "a" or "b" != ip("1.2.3.4")`},
		{`{foo="bar"} | json a, b="c.d" | logfmt --keep-empty --strict x`, `{foo="bar"} | json a="a",b="c.d" | logfmt --strict --keep-empty x="x"`},
		{`{foo="bar"} | label_format a=b, c="{{.d}}" | drop a, b="c" | keep x`, `{foo="bar"} | label_format a=b,c="{{.d}}" | drop a,b="c" | keep x`},
		{`{foo="bar"} | a="1", b="2" or c="3"`, `{foo="bar"} | a="1" and (b="2" or c="3")`},
		{`{foo="bar"} | a="1" or b="2" or (c="3" or d > 1)`, `{foo="bar"} | a="1" or b="2" or (c="3" or d > 1)`},
		{`{foo="bar"} | x = 5 | y>=1.5h | z<2KiB | w=ip("::1")`, `{foo="bar"} | x == 5 | y >= 1h30m | z < 2KiB | w=ip("::1")`},
		{`{foo="bar"} | s > 1500B | t < 1000000B | u > 0kB | v > 1024B`, `{foo="bar"} | s > 1500B | t < 1MB | u > 0kB | v > 1KiB`},
		{`count_over_time({foo="bar"}[5m] |= "x")`, `count_over_time({foo="bar"} |= "x" [5m])`},
		{`count_over_time(({foo="bar"})[1d] offset 90m)`, `count_over_time({foo="bar"}[1d] offset 1h30m)`},
		{`quantile_over_time(0.9,{foo="bar"}|unwrap bytes(b)|__error__=""[1m])by(a,b)`, `quantile_over_time(0.9, {foo="bar"} | unwrap bytes(b) | __error__="" [1m]) by (a, b)`},
		{`sum(rate({a="b"}[5m])) by (a)`, `sum by (a) (rate({a="b"}[5m]))`},
		{`topk(10,rate({a="b"}[5m])) by (a)`, `topk by (a) (10, rate({a="b"}[5m]))`},
		{`(1 + 2) * 3 - 4 / (5 - 6)`, `(1 + 2) * 3 - 4 / (5 - 6)`},
		{`2 ^ (3 ^ 2)`, `2 ^ 3 ^ 2`},
		{`(2 ^ 3) ^ 2`, `(2 ^ 3) ^ 2`},
		{`rate({a="b"}[1m]) > bool on(a,b) group_left(c) rate({a="c"}[1m])`, `rate({a="b"}[1m]) > bool on (a, b) group_left (c) rate({a="c"}[1m])`},
		{`label_replace(vector(1),"a","b","c","d")`, `label_replace(vector(1), "a", "b", "c", "d")`},
	} {
		expr, err := ParseExpr(tc.in)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", tc.in, err)
			continue
		}
		if got := expr.String(); got != tc.want {
			t.Errorf("String of %q\n got: %s\nwant: %s", tc.in, got, tc.want)
		}
	}
}

func TestErrorsAreParseErrors(t *testing.T) {
	for _, in := range []string{``, `{`, `{}`, `sum(`, `{a="b"} | regexp "x"`, `topk(0, rate({a="b"}[1m]))`} {
		_, err := ParseExpr(in)
		if !errors.Is(err, ErrParse) {
			t.Errorf("ParseExpr(%q) = %v, not an ErrParse", in, err)
		}
	}
	for _, err := range []error{ErrNotLogSelector, ErrNotSampleExpr, ErrNotMatchers} {
		if !errors.Is(err, ErrParse) {
			t.Errorf("%v is not an ErrParse", err)
		}
	}
	var pe *ParseError
	_, err := ParseExpr(`{job="smoke"`)
	if !errors.As(err, &pe) || pe.Line != 1 || pe.Col != 13 {
		t.Errorf("ParseError position: %#v", err)
	}
}

func TestMaxInputSize(t *testing.T) {
	big := `{app="` + strings.Repeat("x", MaxInputSize) + `"}`
	_, err := ParseExpr(big)
	if err == nil || err.Error() != "parse error : input size too long (131080 > 131072)" {
		t.Fatalf("got %v", err)
	}
	ok := `{app="` + strings.Repeat("x", MaxInputSize-10) + `"}`
	if _, err := ParseExpr(ok); err != nil {
		t.Fatalf("query below the limit: %v", err)
	}
}
