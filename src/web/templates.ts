// The web view's pages as nunjucks templates, kept in code so the bundled `lynq` needs no
// template files beside it. Rendered with autoescape on: every value is escaped unless a
// template marks it `| safe`, which only the YAML highlighter's output (escaped first) is.

const LAYOUT = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}Lynq{% endblock %} · Lynq bridge</title>
<link rel="stylesheet" href="/static/lynq.css">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
<script src="/static/lynq.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/">Lynq bridge</a>
<nav aria-label="Breadcrumb"><ol class="crumbs">{% block crumbs %}<li><a href="/" aria-current="page">Fleet</a></li>{% endblock %}</ol></nav>
</header>
<main id="main" tabindex="-1">
{% block main %}{% endblock %}
</main>
<footer class="foot">Read-only view of <code>lynq serve</code>. Every page is also JSON: ask for it with <code>Accept: application/json</code>.</footer>
</body>
</html>
`;

const MACROS = `
{% macro phaseLabel(phase) %}{{ "not read back" if phase == "NotRead" else phase }}{% endmacro %}
{% macro badge(phase) %}<span class="badge b-{{ phase }}">{{ phaseLabel(phase) }}</span>{% endmacro %}
{% macro bar(phases, total) %}
<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="{% for p in order %}{{ phases[p] }} {{ phaseLabel(p) }}{{ ", " if not loop.last }}{% endfor %}">
{% for s in segments(phases, total) %}<rect class="r-{{ s.phase }}" x="{{ s.x }}" y="0" width="{{ s.width }}" height="10"><title>{{ s.count }} {{ phaseLabel(s.phase) }}</title></rect>{% endfor %}
</svg>
{% endmacro %}
{% macro outcome(last, what) %}{% if last %}<span class="o-{{ 'ok' if last.outcome in ['published', 'unchanged', 'read'] else 'bad' }}">{{ last.outcome }}</span> <time datetime="{{ last.at }}">{{ last.at | when }}</time>{% if last.error %}<br><span class="err">{{ last.error }}</span>{% endif %}{% else %}<span class="muted">no {{ what }} yet</span>{% endif %}{% endmacro %}
{% macro rollout(r) %}
<section class="rollout" aria-labelledby="rollout-{{ r.form }}">
<h3 id="rollout-{{ r.form }}">Rollout of <a href="{{ r.url }}">{{ r.form }}</a></h3>
<p class="progress">{{ r.done | num }} of {{ r.total | num }} done, {{ (r.inFlight + r.changing) | num }} in progress, {{ r.failed.length | num }} halted{% if r.waiting %}, {{ r.waiting | num }} waiting{% endif %}</p>
<progress max="{{ r.total }}" value="{{ r.done }}" aria-label="{{ r.form }} rollout: {{ r.done }} of {{ r.total }} done">{{ r.done }} of {{ r.total }}</progress>
{% if r.halted %}<p class="err">Halted by {{ r.failed | join(", ") }} (Degraded, or past the progress deadline). Fix the form, or accept the failures and go on:</p>
<pre class="cmd"><code>{{ r.resume }}</code></pre>{% endif %}
</section>
{% endmacro %}
`;

const FLEET = `{% extends "layout" %}{% import "macros" as m %}
{% block title %}Fleet{% endblock %}
{% block main %}
<h1>Fleet</h1>
<section aria-labelledby="problems">
<h2 id="problems">Problems{% if view.problems.length %} <span class="count">{{ view.problems.length | num }}</span>{% endif %}</h2>
{% if view.problems.length %}
<ul class="problems">
{% for p in view.problems %}{% if loop.index <= 200 %}<li class="p-{{ p.kind }}"><span class="kind">{{ p.kind }}</span> {% if p.url %}<a href="{{ p.url }}">{{ p.hub }}{% if p.form %}/{{ p.form }}{% endif %}{% if p.uid %}/{{ p.uid }}{% endif %}</a>{% endif %} {{ p.text }}</li>{% endif %}
{% endfor %}</ul>{% if view.problems.length > 200 %}<p class="muted">and {{ (view.problems.length - 200) | num }} more: see each hub.</p>{% endif %}
{% else %}<p class="ok">None: no node Degraded, no failing row, no held deletion, no halted rollout, no config problem.</p>{% endif %}
</section>
<section aria-labelledby="hubs">
<h2 id="hubs">Hubs</h2>
<table class="grid">
<thead><tr><th scope="col">Hub / form</th><th scope="col" class="n">Nodes</th><th scope="col" class="w">Phases</th><th scope="col">Last sync</th><th scope="col">Last read-back</th></tr></thead>
<tbody>
{% for hub in view.hubs %}
<tr class="hub"><th scope="row"><a href="{{ hub.url }}">{{ hub.name }}</a>{% if hub.gitError %}<br><span class="err">{{ hub.gitError }}</span>{% endif %}</th><td class="n">{{ hub.nodes | num }}</td><td>{{ m.bar(hub.phases, hub.nodes) }}<span class="legend">{% for p in order %}{% if hub.phases[p] %}{{ m.badge(p) }} {{ hub.phases[p] | num }} {% endif %}{% endfor %}</span></td><td>{{ m.outcome(hub.lastSync, "sync") }}</td><td>{{ m.outcome(hub.lastReadBack, "read-back") }}</td></tr>
{% for form in hub.forms %}<tr class="form"><th scope="row"><a href="{{ form.url }}">{{ hub.name }}/{{ form.name }}</a></th><td class="n">{{ form.nodes | num }}</td><td>{{ m.bar(form.phases, form.nodes) }}</td><td></td><td></td></tr>{% endfor %}
{% else %}<tr><td colspan="5" class="muted">No hubs.</td></tr>{% endfor %}
</tbody>
</table>
</section>
<section aria-labelledby="lead">
<h2 id="lead">Lead time</h2>
<p class="muted">Not measured: the bridge does not record lead time (row change to Ready) yet.</p>
</section>
{% endblock %}
`;

const NODES = `{% extends "layout" %}{% import "macros" as m %}
{% block title %}{{ view.hub }}{% if view.form %}/{{ view.form }}{% endif %}{% endblock %}
{% block crumbs %}<li><a href="/">Fleet</a></li><li><a href="{{ hubUrl }}"{% if not view.form %} aria-current="page"{% endif %}>{{ view.hub }}</a></li>{% if view.form %}<li><a href="{{ here }}" aria-current="page">{{ view.form }}</a></li>{% endif %}{% endblock %}
{% block main %}
<h1>{% if view.form %}Form {{ view.hub }}/{{ view.form }}{% else %}Hub {{ view.hub }}{% endif %}</h1>
<dl class="facts">
<dt>Forms</dt><dd>{% for f in view.forms %}<a href="{{ f.url }}">{{ f.name }}</a>{{ ", " if not loop.last }}{% else %}none{% endfor %}</dd>
<dt>Branch head</dt><dd>{% if view.head %}<code>{{ view.head | short }}</code>{% else %}<span class="muted">none yet</span>{% endif %}</dd>
<dt>Last sync</dt><dd>{{ m.outcome(view.lastSync, "sync") }}</dd>
<dt>Last read-back</dt><dd>{{ m.outcome(view.lastReadBack, "read-back") }}</dd>
<dt>Phases</dt><dd>{{ m.bar(view.phases, view.total) }}<span class="legend">{% for p in order %}{% if view.phases[p] %}{{ m.badge(p) }} {{ view.phases[p] | num }} {% endif %}{% endfor %}</span></dd>
</dl>
{% for r in view.rollouts %}{{ m.rollout(r) }}{% endfor %}
{% if view.form and not view.rollouts.length %}<p class="muted">No rollout in progress at the last sync.</p>{% endif %}
<section aria-labelledby="nodes">
<h2 id="nodes">Nodes</h2>
<form class="filter" method="get" action="{{ here }}" role="search">
<label for="q">uid contains</label> <input id="q" name="q" type="search" value="{{ view.filter.q }}" autocomplete="off">
<label for="phase">phase</label> <select id="phase" name="phase"><option value="">any</option>{% for p in order %}<option value="{{ p }}"{% if view.filter.phase == p %} selected{% endif %}>{{ m.phaseLabel(p) }}</option>{% endfor %}</select>
<button type="submit">Filter</button>{% if view.filter.q or view.filter.phase %} <a href="{{ here }}">clear</a>{% endif %}
</form>
<p class="muted" aria-live="polite">{{ view.matching | num }} of {{ view.total | num }} nodes{% if view.pages > 1 %}, page {{ view.page }} of {{ view.pages }}{% endif %}; problems first.</p>
<table class="grid nodes">
<thead><tr>{% if not view.form %}<th scope="col">Form</th>{% endif %}<th scope="col">uid</th><th scope="col">Phase</th><th scope="col">Last sync</th><th scope="col">Message</th></tr></thead>
<tbody>
{% for n in view.nodes %}<tr>{% if not view.form %}<td>{{ n.form }}</td>{% endif %}<th scope="row"><a href="{{ n.url }}">{{ n.uid }}</a></th><td>{{ m.badge(n.phase) }}</td><td>{% if n.sync %}<span class="mark s-{{ n.sync }}">{{ n.sync }}</span>{% endif %}</td><td class="msg">{{ n.message }}</td></tr>
{% else %}<tr><td colspan="5" class="muted">No node matches.</td></tr>{% endfor %}
</tbody>
</table>
{% if view.pages > 1 %}<nav class="pager" aria-label="Pages">{% if view.page > 1 %}<a rel="prev" href="{{ pageUrl(view.page - 1) }}">← previous</a>{% endif %} <span>page {{ view.page }} of {{ view.pages }}</span> {% if view.page < view.pages %}<a rel="next" href="{{ pageUrl(view.page + 1) }}">next →</a>{% endif %}</nav>{% endif %}
</section>
{% endblock %}
`;

const NODE = `{% extends "layout" %}{% import "macros" as m %}
{% block title %}{{ view.hub }}/{{ view.form }}/{{ view.uid }}{% endblock %}
{% block crumbs %}<li><a href="/">Fleet</a></li><li><a href="{{ hubUrl }}">{{ view.hub }}</a></li><li><a href="{{ formUrl }}">{{ view.form }}</a></li><li><a href="{{ here }}" aria-current="page">{{ view.uid }}</a></li>{% endblock %}
{% block main %}
<h1>Node {{ view.hub }}/{{ view.form }}/{{ view.uid }}</h1>
<nav class="toc" aria-label="On this page"><a href="#health">Health</a> <a href="#row">Row</a> <a href="#files">Files</a> <a href="#history">History</a></nav>
<section aria-labelledby="health">
<h2 id="health">Health</h2>
<dl class="facts">
<dt>Phase</dt><dd>{{ m.badge(view.phase) }} {% if view.readAt %}<span class="muted">read back <time datetime="{{ view.readAt }}">{{ view.readAt | when }}</time></span>{% elif view.healthFrom == "status memo" %}<span class="muted">as the last read-back before this service started left it (the status memo)</span>{% endif %}</dd>
{% if view.message %}<dt>Why</dt><dd class="msg">{{ view.reason }}{% if view.reason %}: {% endif %}{{ view.message }}</dd>{% endif %}
{% if view.sync %}<dt>Last sync</dt><dd><span class="mark s-{{ view.sync.status }}">{{ view.sync.status }}</span> {{ view.sync.reasons | join("; ") }}{% if view.sync.error %}<br><span class="err">{{ view.sync.error }}</span>{% endif %}</dd>{% endif %}
<dt>Applied revision</dt><dd>{% if view.appliedRevision %}<code>{{ view.appliedRevision }}</code>{% else %}<span class="muted">unknown</span>{% endif %}</dd>
{% if view.resources %}<dt>Resources</dt><dd>{{ view.resources.ready }} of {{ view.resources.desired }} ready{% if view.resources.failed %}, {{ view.resources.failed }} failed{% endif %}</dd>{% endif %}
<dt>Pull request</dt><dd>{% if view.pullRequest %}{% if view.pullRequest.url %}<a href="{{ view.pullRequest.url }}">#{{ view.pullRequest.number }}</a>{% else %}#{{ view.pullRequest.number }}{% endif %} ({{ view.pullRequest.state }}){% else %}<span class="muted">none open</span>{% endif %}</dd>
</dl>
{% if view.conditions.length %}
<table class="grid"><caption>LynqNode conditions</caption>
<thead><tr><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Reason</th><th scope="col">Message</th></tr></thead>
<tbody>{% for c in view.conditions %}<tr><th scope="row">{{ c.type }}</th><td>{{ c.status }}</td><td>{{ c.reason }}</td><td class="msg">{{ c.message }}</td></tr>{% endfor %}</tbody></table>
{% else %}<p class="muted">Not read back yet: no conditions to show.</p>{% endif %}
{% if view.resourcePhases.length %}
<table class="grid"><caption>Resources</caption>
<thead><tr><th scope="col">id</th><th scope="col">Kind</th><th scope="col">Name</th><th scope="col">Phase</th><th scope="col">Message</th></tr></thead>
<tbody>{% for r in view.resourcePhases %}<tr><th scope="row">{{ r.id }}</th><td>{{ r.kind }}</td><td>{{ r.namespace + "/" if r.namespace }}{{ r.name }}</td><td>{{ r.phase }}</td><td class="msg">{{ r.message }}</td></tr>{% endfor %}</tbody></table>
{% endif %}
</section>
<section aria-labelledby="row">
<h2 id="row">Row</h2>
{% if view.row %}
<p class="muted">As the last sync read it, <time datetime="{{ view.row.readAt }}">{{ view.row.readAt | when }}</time>{% if not view.row.active %}; inactive{% endif %}. Values a form uses in a Secret are masked.</p>
<table class="grid kv"><tbody>{% for v in view.row.values %}<tr><th scope="row">{{ v.name }}</th><td>{% if v.masked %}<span class="masked" title="masked: used in a Secret">{{ v.value }}</span>{% else %}<code class="value">{{ v.value }}</code>{% endif %}</td></tr>{% endfor %}</tbody></table>
{% else %}<p class="muted">Not read since this service started (or the row is gone): the next sync reads it.</p>{% endif %}
</section>
<section aria-labelledby="files">
<h2 id="files">Files at <code>{{ view.head | short if view.head else "no commit" }}</code></h2>
{% for f in files %}<details{% if loop.first %} open{% endif %}><summary><code>{{ f.path }}</code></summary><pre class="yaml"><code>{{ f.html | safe }}</code></pre></details>
{% else %}<p class="muted">No files in Git for this node.</p>{% endfor %}
</section>
<section aria-labelledby="history">
<h2 id="history">History</h2>
{% if view.history.length %}
<table class="grid history">
<thead><tr><th scope="col">Date</th><th scope="col">Commit</th><th scope="col">Author</th><th scope="col">Change</th><th scope="col">PR</th><th scope="col">Why</th></tr></thead>
<tbody>{% for h in view.history %}<tr><td><time datetime="{{ h.date }}">{{ h.date | when }}</time></td><td>{% if h.commitUrl %}<a href="{{ h.commitUrl }}"><code>{{ h.commit | short }}</code></a>{% else %}<code>{{ h.commit | short }}</code>{% endif %}</td><td>{{ h.author }}</td><td>{{ h.change }}</td><td>{% if h.pullRequest %}{% if h.pullRequestUrl %}<a href="{{ h.pullRequestUrl }}">#{{ h.pullRequest }}</a>{% else %}#{{ h.pullRequest }}{% endif %}{% endif %}</td><td class="msg">{{ h.why }}</td></tr>{% endfor %}</tbody>
</table>
{% else %}<p class="muted">No commits touch this node on the branch.</p>{% endif %}
</section>
{% endblock %}
`;

const LOGIN = `{% extends "layout" %}
{% block title %}Sign in{% endblock %}
{% block crumbs %}<li><a href="/login" aria-current="page">Sign in</a></li>{% endblock %}
{% block main %}
<h1>Sign in</h1>
{% if failed %}<p class="err" role="alert">That token is not the one this service was started with.</p>{% endif %}
<form class="login" method="post" action="/login">
<input type="hidden" name="next" value="{{ next }}">
<label for="token">Token (<code>LYNQ_UI_TOKEN</code>)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
<p class="muted">Scripts can send <code>Authorization: Bearer &lt;token&gt;</code> instead.</p>
{% endblock %}
`;

const ERROR = `{% extends "layout" %}
{% block title %}{{ status }}{% endblock %}
{% block main %}
<h1>{{ title }}</h1>
<p>{{ message }}</p>
<p><a href="/">Back to the fleet</a></p>
{% endblock %}
`;

export const TEMPLATES: Readonly<Record<string, string>> = {
  layout: LAYOUT,
  macros: MACROS,
  fleet: FLEET,
  nodes: NODES,
  node: NODE,
  login: LOGIN,
  error: ERROR,
};
