"""Word lists the data generator draws realistic questions and answers from."""

from __future__ import annotations

TOPICS = (
    "python sqlite mysql mariadb postgres docker kubernetes nginx linux bash git rust golang java javascript "
    "typescript react htmx css html http tls dns ssh redis kafka pandas numpy regex unicode json yaml csv "
    "excel spreadsheets accounting taxes budgeting mortgages investing retirement gardening tomatoes roses "
    "composting beekeeping baking sourdough bread pasta risotto curry coffee espresso tea wine cheese "
    "chocolate running cycling swimming yoga climbing chess guitar piano violin photography astronomy "
    "telescopes planets galaxies volcanoes earthquakes glaciers oceans rainforests dinosaurs genetics "
    "vaccines nutrition sleep meditation parenting toddlers puppies kittens aquariums travel japan italy "
    "portugal iceland norway camping hiking sailing spanish french german latin poetry novels history "
    "rome byzantium vikings renaissance napoleon economics inflation statistics probability calculus "
    "geometry algebra physics quantum relativity chemistry batteries solar windmills electricity plumbing "
    "carpentry painting woodworking knitting sewing pottery origami resumes interviews negotiation"
).split()

NOUNS = (
    "function loop variable table index query cursor transaction migration container image volume "
    "network port certificate key token session cookie header request response stream buffer queue "
    "thread process memory cache file folder backup schedule recipe oven dough sauce garden soil seed "
    "plant leaf root budget loan rate account invoice report chart graph model theory equation proof "
    "song chord scale melody lens camera sensor orbit star comet planet muscle habit routine trip map "
    "ticket visa language grammar verb essay chapter story battle empire trade market price wage"
).split()

VERBS = (
    "install configure debug optimise migrate deploy test measure compare explain write read store "
    "delete rename split merge sort filter parse format convert encrypt compress upload download "
    "schedule monitor profile refactor document translate cook bake grow prune water repair paint "
    "build plan learn practise improve clean organise reduce increase balance calculate estimate"
).split()

ADJECTIVES = (
    "fast slow simple small large safe secure reliable modern old common rare cheap expensive "
    "healthy fresh quiet gentle strong flexible portable accurate efficient readable elegant robust"
).split()

FILLER = (
    "the a an of to in on for with by from at as is are was be it this that these those you your "
    "can should will may often usually first then next finally also because however instead when "
    "while before after each every most some many few more less both either both only just very"
).split()

QUESTIONS = (
    "How do I {verb} a {noun} in {topic}?",
    "What is the difference between a {noun} and a {noun2} in {topic}?",
    "Why does my {noun} stop working when I {verb} it?",
    "Can you explain {topic} to a beginner, with an example?",
    "What is the most {adjective} way to {verb} a {noun}?",
    "Give me three tips to {verb} my {noun} for {topic}.",
    "Is it {adjective} to {verb} a {noun} every day?",
    "Write a short checklist to {verb} a {noun} before {topic}.",
    "Which {noun} should I choose for {topic}, and why?",
    "Summarise the history of {topic} in a few sentences.",
)

MODELS = ("gpt-4o-mini", "gpt-4o", "llama3.1:8b", "mistral-small", "qwen2.5:14b")
STATUS_WEIGHTS = {"done": 90, "error": 4, "stopped": 3, "interrupted": 2, "pending": 1}
