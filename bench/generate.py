"""A synthetic knowledge base in the seed's shape, for the benchmark (`make bench`).

    python bench/generate.py 200 [--out build/bench/n200] [--seed 1]

Writes OUT/book.yml (parts by topic; chapters named by path, by slug and by glob queries), beside it
OUT/book-one-chapter.yml (the same articles as one chapter) and book-pdf-workers-{1,2}.yml (the PDF laid
out by one process or two),
OUT/kb/glossary.yml (curated terms) and OUT/kb/ai/<topic>/<slug>.md: N articles with the seed's front
matter (title, ai_category, difficulty, last_updated, kb_status, tags, related_topics, summary, aliases)
and a body of about 1,200 words: an overview opening "**Term** is ...", numbered sections and
subsections, "**Term**: definition" bullets drawn from a pool of 150 terms (so the glossary merges
duplicates), one pipe table, one box-drawing diagram in a code fence, cross-links in every form a vault
uses ([[slug]], [[slug|text]], [[slug#Heading]], [[alias]], [[#Heading]], app://obsidian.md/... with and
without a heading, relative .md links), key takeaways, recommended reading and a closing summary quote.

The prose is made from word lists by a seeded generator: the same N and seed give the same files. Every
link resolves to a heading that exists, so a correct build reports nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
WORDS_PER_ARTICLE = 1200

# ---------------------------------------------------------------- word lists
TOPICS = (
    ("0_foundations", "foundations", "Foundations"),
    ("1_data", "data", "Data and Features"),
    ("2_learning", "learning", "Learning Methods"),
    ("3_models", "models", "Model Architectures"),
    ("4_generative", "generative-ai", "Generative Systems"),
    ("5_systems", "systems", "Systems and Operations"),
    ("6_evaluation", "evaluation", "Evaluation and Measurement"),
    ("7_governance", "governance", "Governance and Risk"),
)
DIFFICULTIES = ("beginner", "intermediate", "advanced")
TERM_ADJECTIVES = (
    "Adaptive", "Sparse", "Latent", "Contrastive", "Hierarchical", "Federated", "Streaming", "Causal",
    "Robust", "Incremental", "Probabilistic", "Modular", "Recursive", "Weighted", "Distributed", "Semantic",
)
TERM_NOUNS = (
    "Sampling", "Routing", "Distillation", "Pruning", "Retrieval", "Attention", "Regularization", "Tokenization",
    "Calibration", "Augmentation", "Clustering", "Hashing", "Indexing", "Caching", "Batching", "Scheduling",
    "Alignment", "Decoding", "Encoding", "Labeling", "Sharding", "Ranking", "Filtering", "Smoothing", "Quantization",
)
SUBTITLES = (
    "A Practical Introduction", "Principles and Pitfalls", "Design Patterns at Scale", "From Prototype to Production",
    "What Practitioners Should Know", "Methods and Measurements", "An Engineering Guide", "Trade-offs in Practice",
    "A Field Report", "Core Ideas and Variants", "Failure Modes and Fixes", "A Reference for Teams",
    "How It Works", "When to Use It", "Lessons from Deployment", "Theory Meets Practice", "A Short History",
    "Costs and Benefits", "Building Reliable Systems", "Tuning and Diagnostics", "Beyond the Basics",
    "A Checklist Approach", "Questions Worth Asking", "Patterns and Anti-Patterns", "Measuring Progress",
    "Operating in Production", "A Comparative Study", "Limits and Opportunities", "An Annotated Overview",
    "Common Misconceptions", "Design Decisions", "A Working Vocabulary", "The Essential Toolkit",
    "Case Studies", "Risks and Safeguards", "Open Problems", "A Guided Tour", "First Principles",
    "Everyday Engineering", "A Decision Guide",
)
TAGS = (
    "machine-learning", "deep-learning", "data-engineering", "evaluation", "optimization", "nlp",
    "computer-vision", "generative-ai", "transformers", "retrieval", "mlops", "privacy", "fairness",
    "governance", "security", "reinforcement-learning", "statistics", "embeddings", "inference", "hardware",
    "benchmarks", "interpretability", "robustness", "data-quality", "compression", "multimodal", "agents",
    "search", "time-series", "recommendation",
)
SECTION_TITLES = (
    "How {T} Works", "Design Choices", "Common Failure Modes", "Measuring {N}s", "Data Requirements",
    "Deployment Considerations", "Comparison with {O}", "A Worked Example", "Limitations", "Tooling and Ecosystem",
    "Scaling Behaviour", "Security Considerations", "Cost and Efficiency", "Historical Context", "Open Questions",
    "Interaction with {O}", "Tuning {N}s", "Monitoring in Production", "Choosing Defaults", "Variants of {T}",
    "Building Blocks", "Evaluation Strategy", "Risks and Mitigations", "Team Practices",
)
SUBSECTION_TITLES = (
    "Inputs", "Outputs", "Typical Settings", "Edge Cases", "Signals to Watch", "Practical Tips", "Terminology",
    "Trade-offs", "A Minimal Setup", "Checks Before Release", "Known Issues", "Where It Breaks",
)
ADJ = (
    "adaptive", "sparse", "robust", "latent", "incremental", "distributed", "probabilistic", "causal", "contrastive",
    "hierarchical", "streaming", "modular", "calibrated", "interpretable", "recurrent", "discriminative",
    "multimodal", "quantized", "differentiable", "stochastic", "explicit", "implicit", "lightweight", "scalable",
    "noisy", "stable", "local", "global", "shallow", "dense", "synthetic", "annotated", "curated", "balanced",
    "skewed", "reusable", "brittle", "expensive", "cheap", "narrow", "general", "offline", "online", "shared",
)
NOUNS = (
    "model", "dataset", "feature", "gradient", "embedding", "encoder", "decoder", "pipeline", "benchmark",
    "classifier", "policy", "signal", "representation", "objective", "prior", "sample", "label", "token", "layer",
    "kernel", "query", "retriever", "evaluator", "schedule", "checkpoint", "cluster", "workload", "metric",
    "baseline", "annotation", "threshold", "budget", "constraint", "boundary", "distribution", "estimate",
    "weight", "parameter", "request", "cache", "shard", "batch", "error", "forecast", "prompt", "reviewer",
)
PLURAL = {"query": "queries", "index": "indexes", "batch": "batches", "cache": "caches"}
VERBS = (
    ("reduce", "reduces"), ("stabilize", "stabilizes"), ("expose", "exposes"), ("shape", "shapes"),
    ("constrain", "constrains"), ("improve", "improves"), ("summarize", "summarizes"), ("approximate", "approximates"),
    ("amplify", "amplifies"), ("filter", "filters"), ("separate", "separates"), ("align", "aligns"),
    ("compress", "compresses"), ("accelerate", "accelerates"), ("reweight", "reweights"), ("track", "tracks"),
    ("predict", "predicts"), ("rank", "ranks"), ("encode", "encodes"), ("hide", "hides"), ("reveal", "reveals"),
    ("limit", "limits"), ("dominate", "dominates"), ("replace", "replaces"), ("simplify", "simplifies"),
)
CONTEXTS = (
    "in practice", "at scale", "during training", "under distribution shift", "on held-out data",
    "for most workloads", "in production systems", "when labels are scarce", "across many domains",
    "with modest compute", "after deployment", "in small teams", "over long horizons", "on commodity hardware",
    "when the budget is tight", "in regulated settings", "during evaluation", "at inference time",
)
CONNECTORS = (
    "However,", "In practice,", "As a result,", "For example,", "By contrast,", "In most cases,", "Over time,",
    "At the same time,", "For this reason,", "Put simply,", "In contrast,", "More generally,", "Typically,",
)
PEOPLE = ("teams", "practitioners", "researchers", "engineers", "reviewers", "operators", "analysts", "students")
OUTCOMES = (
    "fewer surprises", "lower latency", "cleaner data", "more stable training", "better recall", "smaller models",
    "cheaper inference", "clearer reports", "faster iteration", "safer releases", "more honest metrics",
)
TABLE_HEADS = (
    ("Approach", "Strength", "Weakness"),
    ("Setting", "Typical value", "Effect"),
    ("Challenge", "Description", "Mitigation"),
    ("Component", "Role", "Common issue", "Owner"),
    ("Signal", "What it shows", "When to act"),
)


def plural(noun: str) -> str:
    if noun in PLURAL:
        return PLURAL[noun]
    return noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else noun + "s"


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def a_or_an(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


# ---------------------------------------------------------------- the plan: titles, headings, terms
@dataclass
class Term:
    name: str  # "Adaptive Sampling" or "Adaptive Sampling (AS)"
    plain: str  # "Adaptive Sampling"


@dataclass
class Plan:
    index: int
    slug: str
    title: str
    term: Term
    topic: tuple[str, str, str]
    difficulty: str
    alias: str | None
    sections: list[str]  # "1. How Adaptive Sampling Works", ...
    tags: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"ai/{self.topic[0]}/{self.slug}.md"


def term_pool(count: int = 150) -> list[Term]:
    """The same 150 terms for every N: some carry an abbreviation, each abbreviation unique."""
    rng = random.Random("publisher-bench-terms")
    combos = [(a, n) for a in TERM_ADJECTIVES for n in TERM_NOUNS]
    rng.shuffle(combos)
    terms, initials = [], set()
    for adj, noun in combos[:count]:
        plain = f"{adj} {noun}"
        short = adj[0] + noun[0]
        if rng.random() < 0.2 and short not in initials:
            initials.add(short)
            terms.append(Term(f"{plain} ({short})", plain))
        else:
            terms.append(Term(plain, plain))
    return terms


def plan_articles(n: int, rng: random.Random, terms: list[Term]) -> list[Plan]:
    topics = TOPICS[: max(1, min(len(TOPICS), n // 6))]
    plans: list[Plan] = []
    slugs: set[str] = set()
    for i in range(n):
        while True:
            term, subtitle = rng.choice(terms), rng.choice(SUBTITLES)
            key = " ".join(w for w in subtitle.split() if len(w) > 3)[:32]
            slug = slugify(f"{term.plain} {key}")
            if slug not in slugs:
                break
        slugs.add(slug)
        other = rng.choice(terms).plain
        noun = term.plain.split()[-1]
        titles = rng.sample(SECTION_TITLES, rng.randint(5, 6))
        sections = [f"{k}. " + t.format(T=term.plain, N=noun, O=other if other != term.plain else "Simpler Methods")
                    for k, t in enumerate(titles, 1)]
        plans.append(Plan(
            index=i, slug=slug, title=f"{term.plain}: {subtitle}", term=term, topic=topics[i % len(topics)],
            difficulty="", alias=f"{term.plain} ({key})" if rng.random() < 0.3 else None, sections=sections,
        ))
    by_topic: dict[str, list[Plan]] = {}
    for p in plans:
        by_topic.setdefault(p.topic[0], []).append(p)
    for members in by_topic.values():
        for k, p in enumerate(members):
            p.difficulty = rng.choice(DIFFICULTIES) if k < 2 else DIFFICULTIES[(k - 2) % 3]
    for p in plans:
        tags = rng.sample(TAGS, rng.randint(4, 7))
        if rng.random() < 0.08:  # a spelling the tag index folds into the common one
            tags[0] = rng.choice((tags[0].title(), tags[0].replace("-", "_")))
        p.tags = tags
        others = [q for q in by_topic[p.topic[0]] if q is not p] or [q for q in plans if q is not p]
        p.related = [q.slug for q in rng.sample(others, min(len(others), rng.randint(3, 5)))]
    return plans


# ---------------------------------------------------------------- prose
class Writer:
    """Sentences, paragraphs, bullets, a table and a diagram for one article."""

    def __init__(self, rng: random.Random, plan: Plan, plans: list[Plan], terms: list[Term]):
        self.rng, self.plan, self.plans, self.terms = rng, plan, plans, terms
        self.mentions = [plan.term.plain] + [t.plain for t in rng.sample(terms, 6)]

    def np(self) -> str:
        r = self.rng
        return f"{r.choice(ADJ)} {r.choice(NOUNS)}" if r.random() < 0.6 else r.choice(NOUNS)

    def np_pl(self) -> str:
        r = self.rng
        noun = plural(r.choice(NOUNS))
        return f"{r.choice(ADJ)} {noun}" if r.random() < 0.5 else noun

    def the_np(self) -> str:
        return "the " + self.np()

    def term(self) -> str:
        return self.rng.choice(self.mentions).lower()

    def sentence(self) -> str:
        r = self.rng
        v, v3 = r.choice(VERBS)
        w, w3 = r.choice(VERBS)
        forms = (
            lambda: f"{r.choice(CONNECTORS)} {self.the_np()} {v3} {self.the_np()} {r.choice(CONTEXTS)}.",
            lambda: f"{r.choice(PEOPLE).capitalize()} often {v} {self.np_pl()} because {self.the_np()} {w3} {a_or_an(self.np())} {r.choice(CONTEXTS)}.",
            lambda: f"When {self.np_pl()} {v} {self.the_np()}, {self.term()} tends to {w} {self.np_pl()} as well.",
            lambda: f"A common mistake is to treat {self.the_np()} as {a_or_an(self.np())}; {r.choice(PEOPLE)} who {v} {self.np_pl()} first avoid it.",
            lambda: f"The {r.choice(ADJ)} {r.choice(NOUNS)} of {self.np_pl()} matters more than {self.the_np()} {r.choice(CONTEXTS)}.",
            lambda: f"{self.term().capitalize()} is most useful {r.choice(CONTEXTS)}, where {self.np_pl()} {v} {self.the_np()}.",
            lambda: f"In one internal study, {self.np_pl()} {w} {self.the_np()} by {r.randint(3, 60)}% {r.choice(CONTEXTS)}.",
            lambda: f"Used with {self.term()}, {self.the_np()} {v3} {self.np_pl()} and leads to {r.choice(OUTCOMES)}.",
            lambda: f"Nothing about {self.term()} is free: every {r.choice(NOUNS)} it adds {w3} {self.the_np()} somewhere else.",
            lambda: f"{r.choice(CONNECTORS)} {r.choice(PEOPLE)} {v} {self.np_pl()} with {self.term()} and report {r.choice(OUTCOMES)}.",
            lambda: f"It helps to write down which {r.choice(NOUNS)} {v3} the {r.choice(NOUNS)} before anyone changes {self.the_np()}.",
        )
        return r.choice(forms)()

    def paragraph(self, sentences: int | None = None, link: str | None = None) -> str:
        out = [self.sentence() for _ in range(sentences or self.rng.randint(3, 5))]
        if link:
            out.insert(self.rng.randint(1, len(out)), link)
        return " ".join(out)

    def definition(self) -> str:
        r = self.rng
        v, v3 = r.choice(VERBS)
        kind = r.choice(("A technique", "A method", "A practice", "An approach", "A family of methods"))
        return f"{kind} that {v3} {self.np_pl()} {r.choice(CONTEXTS)}, so that {self.the_np()} stays {r.choice(ADJ)}."

    def term_bullets(self, count: int) -> list[str]:
        return [f"- **{t.name}**: {self.definition()}" for t in self.rng.sample(self.terms, count)]

    def plain_bullets(self, count: int) -> list[str]:
        return [f"- {self.sentence()}" for _ in range(count)]

    def table(self) -> list[str]:
        r = self.rng
        head = r.choice(TABLE_HEADS)
        rows = ["|" + "|".join(head) + "|", "|" + "|".join("---" for _ in head) + "|"]
        for term in r.sample(self.terms, r.randint(4, 6)):
            cells = [f"**{term.plain}**"]
            for _ in head[1:]:
                v, v3 = r.choice(VERBS)
                cells.append(r.choice((f"{v3.capitalize()} {self.np_pl()}", f"{r.choice(ADJ).capitalize()} {r.choice(NOUNS)}",
                                       f"{r.randint(2, 64)} {plural(r.choice(NOUNS))}", f"Watch {self.the_np()} {r.choice(CONTEXTS)}")))
            rows.append("|" + "|".join(cells) + "|")
        return rows

    def diagram(self) -> list[str]:
        r = self.rng
        labels: list[str] = []
        while len(labels) < 4:
            label = f"{r.choice(ADJ)} {r.choice(NOUNS)}".title()
            if len(label) <= 18 and label not in labels:
                labels.append(label)
        return r.choice((chain, stack, loop))(labels)


def _box(label: str, width: int) -> list[str]:
    return ["┌" + "─" * width + "┐", "│" + label.center(width) + "│", "└" + "─" * width + "┘"]


def chain(labels: list[str]) -> list[str]:
    """Three boxes left to right, a fourth below the middle one."""
    w = max(len(x) for x in labels) + 2
    boxes = [_box(x, w) for x in labels[:3]]
    gap = "─────▶"
    lines = [boxes[0][0] + " " * len(gap) + boxes[1][0] + " " * len(gap) + boxes[2][0],
             boxes[0][1] + gap + boxes[1][1] + gap + boxes[2][1],
             boxes[0][2] + " " * len(gap) + boxes[1][2] + " " * len(gap) + boxes[2][2]]
    mid = len(boxes[0][0]) + len(gap) + (w + 2) // 2
    lines += [" " * mid + "│", " " * mid + "▼"]
    pad = " " * (mid - (w + 2) // 2)
    lines += [pad + line for line in _box(labels[3], w)]
    return lines


def stack(labels: list[str]) -> list[str]:
    """Boxes top to bottom, each feeding the next, with a side note."""
    w = max(len(x) for x in labels) + 4
    lines: list[str] = []
    for k, label in enumerate(labels):
        box = _box(label, w)
        if k:
            lines += [" " * ((w + 2) // 2) + "│", " " * ((w + 2) // 2) + "▼"]
        box[1] += "  ◀── stage " + str(k + 1)
        lines += box
    return lines


def loop(labels: list[str]) -> list[str]:
    """Two boxes left to right with a feedback path back through a third below them."""
    w = max(len(x) for x in labels) + 2
    a, b, c = _box(labels[0], w), _box(labels[1], w), _box(labels[2], w)
    gap = "──────▶"
    lines = [a[0] + " " * len(gap) + b[0], a[1] + gap + b[1], a[2] + " " * len(gap) + b[2]]
    left, right = (w + 2) // 2, len(a[0]) + len(gap) + (w + 2) // 2  # the columns of the vertical lines
    lines.append(" " * left + "▲" + " " * (right - left - 1) + "│")
    start = (left + right) // 2 - (w + 2) // 2  # the third box, centred between them
    lines.append(" " * left + "│" + " " * (start - left - 1) + c[0] + " " * (right - start - w - 2) + "│")
    lines.append(" " * left + "└" + "─" * (start - left - 1) + "◀" + c[1][1:-1] + "│" + "─" * (right - start - w - 2) + "┘")
    lines.append(" " * start + c[2])
    return lines


# ---------------------------------------------------------------- links
def heading_link_text(heading: str) -> str:
    return re.sub(r"^\d+\.\s*", "", heading)


def gfm_anchor(heading: str) -> str:
    return re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", heading.lower()))


def links_for(rng: random.Random, plan: Plan, plans: list[Plan]) -> list[str]:
    """Inline links in every form, all to places that exist."""
    others = [p for p in plans if p is not plan] or [plan]

    def pick() -> Plan:
        same = [p for p in others if p.topic == plan.topic]
        return rng.choice(same if same and rng.random() < 0.6 else others)

    t = [pick() for _ in range(8)]
    h = [rng.choice(x.sections) for x in t]
    out = [
        f"The related ideas are covered in [[{t[0].slug}]].",
        f"See [[{t[1].slug}|{t[1].term.plain.lower()}]] for the neighbouring technique.",
        f"The details appear in [[{t[2].slug}#{h[2]}]].",
        f"This is where [[{t[3].slug}#{h[3]}|{heading_link_text(h[3]).lower()}]] becomes relevant.",
        "Readers in a hurry can skip to [[#Key Takeaways]].",
        f"A longer treatment is [{t[4].title}](app://obsidian.md/{t[4].path[:-3]}).",
        f"The section on [{heading_link_text(h[5]).lower()}](app://obsidian.md/{t[5].path[:-3]}#{quote(h[5])}) gives an example.",
    ]
    if t[6].alias and rng.random() < 0.8:
        out.append(f"Some teams know it as [[{t[6].alias}]].")
    else:
        out.append(f"The title says it all: [[{t[6].title}]].")
    if rng.random() < 0.4:
        rel = f"../{t[7].topic[0]}/{t[7].slug}.md" if t[7].topic != plan.topic else f"{t[7].slug}.md"
        out.append(f"Compare the [{heading_link_text(h[7]).lower()} section]({rel}#{gfm_anchor(h[7])}).")
    rng.shuffle(out)
    return out


# ---------------------------------------------------------------- one article
def front_matter(plan: Plan, rng: random.Random, summary: str) -> str:
    date = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 540))
    q = lambda s: json.dumps(s, ensure_ascii=False)  # noqa: E731 - a JSON string is a YAML double-quoted scalar
    lines = ["---", f"title: {q(plan.title)}", f"ai_category: {q(plan.topic[1])}", f"difficulty: {q(plan.difficulty)}",
             f"last_updated: {q(date.isoformat())}", 'kb_status: "published"', "tags:"]
    lines += [f"  - {t}" for t in plan.tags]
    lines += ["related_topics:"] + [f"  - {q(s)}" for s in plan.related]
    lines += [f"summary: {q(summary)}"]
    lines += ["aliases:", f"  - {q(plan.alias)}"] if plan.alias else ["aliases: []"]
    return "\n".join([*lines, "---"])


def words(lines: list[str]) -> int:
    return sum(len(re.findall(r"[A-Za-z0-9][\w'-]*", line)) for line in lines)


def article_text(plan: Plan, plans: list[Plan], terms: list[Term], rng: random.Random) -> tuple[str, int]:
    w = Writer(rng, plan, plans, terms)
    links = links_for(rng, plan, plans)
    v, v3 = rng.choice(VERBS)
    lead = f"**{plan.term.name}** is {a_or_an(rng.choice(ADJ) + ' ' + rng.choice(('technique', 'method', 'practice', 'discipline')))} that {v3} {w.np_pl()} {rng.choice(CONTEXTS)}."
    summary = f"{plan.term.plain} explained: {w.sentence()[:-1].lower()}, with worked examples and trade-offs."
    sections: list[list[str]] = [[f"# {plan.title}", "", "## Overview", "", lead + " " + w.paragraph(3), "", w.paragraph(3, links.pop()), ""]]
    extras = {"table": rng.randrange(1, len(plan.sections)), "diagram": rng.randrange(len(plan.sections))}
    for k, heading in enumerate(plan.sections):
        body = [f"## {heading}", "", w.paragraph(link=links.pop() if links else None), ""]
        if k == extras["diagram"]:
            body += [w.paragraph(2), "", "```", *w.diagram(), "```", ""]
        if k == extras["table"]:
            body += [w.paragraph(2), "", *w.table(), ""]
        if k % 2 == 0:
            body += [f"### {k + 1}.1 {rng.choice(SUBSECTION_TITLES)}", "", w.paragraph(2), "", *w.term_bullets(rng.randint(2, 4)), ""]
        else:
            body += [*w.plain_bullets(rng.randint(2, 3)), ""]
        sections.append(body)
    while links:  # whatever forms are left go into the last sections
        sections[-1 - len(links) % max(1, len(plan.sections))] += [w.paragraph(2, links.pop()), ""]
    target = WORDS_PER_ARTICLE + rng.randint(-80, 80)
    tail_words = 140
    while words([line for s in sections for line in s]) + tail_words < target:
        s = sections[rng.randrange(1, len(sections))]
        s += [w.paragraph(rng.randint(3, 5)), ""]
    takeaways = [f"{k}. **{w.term().capitalize()}** {rng.choice(VERBS)[1]} {w.np_pl()} {rng.choice(CONTEXTS)}." for k in range(1, 5)]
    reading = [f"- [{p.title}](app://obsidian.md/{p.path[:-3]})" for p in (x for x in plans if x.slug in plan.related[:3])]
    tail = ["## Key Takeaways", "", *takeaways, "", "## Recommended Reading", "", *reading, "",
            f"> **Summary:** {w.paragraph(2)}", ""]
    body_lines = [line for s in sections for line in s] + tail
    text = front_matter(plan, rng, summary) + "\n" + "\n".join(body_lines)
    return text, words(body_lines)


# ---------------------------------------------------------------- the vault and the manifest
SHAPES = {  # manifest file -> (output name's suffix, one chapter?, pdf settings)
    "book.yml": ("", False, ""),
    "book-one-chapter.yml": ("-one-chapter", True, ""),  # every article in one chapter (#23)
    "book-pdf-workers-1.yml": ("-workers-1", False, "pdf: {workers: 1}"),  # the PDF laid out by one process
    "book-pdf-workers-2.yml": ("-workers-2", False, "pdf: {workers: 2}"),  # ... and by two
}


def manifest_text(n: int, plans: list[Plan], name: str = "book.yml") -> str:
    suffix, one_chapter, pdf = SHAPES[name]
    lines = [
        f"# A synthetic book of {n} articles for `make bench` (bench/generate.py).",
        f"title: Synthetic Handbook of {n} Articles",
        "subtitle: A benchmark edition",
        "authors: [The Benchmark Generator]",
        "language: en",
        "edition: Benchmark edition",
        'rights: "Generated text for benchmarking only."',
        "source: kb",
        "formats: [pdf, epub, docx]",
        f"output: {{dir: out, name: bench-{n}{suffix}}}",
        "filter: {kb_status: [published]}",
        "links: {outside: footnote}",
        "glossary: {file: glossary.yml}",
        "tag_index: true",
        *([pdf] if pdf else []),
    ]
    if one_chapter:
        return "\n".join([*lines, "chapters:", f"  - title: All {n} articles", "    articles:",
                          '      - {glob: "ai/**/*.md", sort: title}']) + "\n"
    lines.append("parts:")
    for folder, _, title in TOPICS:
        members = [p for p in plans if p.topic[0] == folder]
        if not members:
            continue
        lines += [f"  - title: {title}", "    chapters:"]
        if members:
            lines.append(f"      - {members[0].path}")
        if len(members) > 1:
            lines.append(f"      - {members[1].slug}")
        for level in DIFFICULTIES:
            if any(p.difficulty == level for p in members[2:]):
                lines += [f"      - title: {level.capitalize()} topics in {title.lower()}", "        articles:",
                          f'          - {{glob: "ai/{folder}/*.md", difficulty: {level}, sort: title}}']
    return "\n".join(lines) + "\n"


def glossary_text(terms: list[Term], rng: random.Random) -> str:
    lines = ["# Curated terms: these win over the definitions harvested from the articles."]
    for t in rng.sample(terms, 30):
        v, v3 = rng.choice(VERBS)
        lines.append(f'{t.plain}: "A curated definition: the practice that {v3} {plural(rng.choice(NOUNS))} {rng.choice(CONTEXTS)}."')
    return "\n".join(lines) + "\n"


def generate(n: int, out: Path, seed: int = 1) -> dict:
    """Write the vault and manifest for n articles into out (replacing it); return a summary."""
    rng = random.Random(f"publisher-bench-{seed}-{n}")
    terms = term_pool()
    plans = plan_articles(n, rng, terms)
    if out.exists():
        shutil.rmtree(out)
    kb = out / "kb"
    total_words = 0
    for plan in plans:
        text, count = article_text(plan, plans, terms, rng)
        total_words += count
        file = kb / plan.path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
    (kb / "glossary.yml").write_text(glossary_text(terms, rng), encoding="utf-8")
    for name in SHAPES:
        (out / name).write_text(manifest_text(n, plans, name), encoding="utf-8")
    summary = {"n": n, "seed": seed, "words": total_words, "words_per_article": round(total_words / max(n, 1)),
               "manifest": str(out / "book.yml"), "articles": [p.path for p in plans]}
    (out / "bench.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("n", type=int, help="number of articles")
    p.add_argument("--out", type=Path, help="output folder (default: build/bench/nN)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    out = args.out or REPO / "build" / "bench" / f"n{args.n}"
    s = generate(args.n, out, args.seed)
    print(f"{out}: {s['n']} articles, {s['words']} words ({s['words_per_article']} per article); manifest {s['manifest']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
