"""The vocabulary of the synthetic reviews: content concepts, their lexemes and forms, stop words, noise.

A concept is one idea a satisfaction analysis cares about (LIVRAISON, CASSE...). Its first lexeme is the
canonical one; lexemes marked ``synonym`` are listed in the public synonym table, the others belong to
the canonical word family (remboursement / remboursé, rapide / rapidement) and are a stemmer's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Lexeme:
    lemma: str
    gender: str = "m"  # nouns: the determiner's gender
    nouns: dict[str, str] = field(default_factory=dict)  # "s" / "p" -> form
    adjectives: dict[str, str] = field(default_factory=dict)  # "ms" "fs" "mp" "fp" -> form
    adverb: str = ""
    verbs: dict[str, str] = field(default_factory=dict)  # "je" / "nous" -> form
    synonym: bool = False  # listed in the public synonym table (lemma -> canonical lemma)

    def forms(self) -> set[str]:
        return {self.lemma, *self.nouns.values(), *self.adjectives.values(), *self.verbs.values()} | (
            {self.adverb} if self.adverb else set()
        )


def noun(s: str, p: str | None = None, g: str = "m", *, syn: bool = False) -> Lexeme:
    return Lexeme(s, gender=g, nouns={"s": s, "p": p or s + "s"}, synonym=syn)


def adj(ms: str, fs: str = "", mp: str = "", fp: str = "", *, adverb: str = "", syn: bool = False) -> Lexeme:
    fs = fs or (ms if ms.endswith("e") else ms + "e")
    mp = mp or (ms if ms[-1] in "sx" else ms + "s")
    forms = {"ms": ms, "fs": fs, "mp": mp, "fp": fp or fs + "s"}
    return Lexeme(ms, adjectives=forms, adverb=adverb, synonym=syn)


def verb(inf: str, je: str, nous: str, participle: str, *, syn: bool = False) -> Lexeme:
    base = adj(participle)
    return Lexeme(inf, adjectives=base.adjectives, verbs={"je": je, "nous": nous}, synonym=syn)


def adverb(form: str, *, syn: bool = False) -> Lexeme:
    return Lexeme(form, adverb=form, synonym=syn)


CONCEPTS: dict[str, tuple[Lexeme, ...]] = {
    "LIVRAISON": (noun("livraison", g="f"), noun("expédition", g="f", syn=True), noun("envoi", syn=True)),
    "COLIS": (noun("colis", "colis"), noun("paquet", syn=True), noun("carton", syn=True)),
    "RAPIDE": (adj("rapide", adverb="rapidement"), adverb("vite", syn=True)),
    "LENT": (adj("lent", adverb="lentement"), adj("interminable", syn=True)),
    "PRODUIT": (noun("produit"), noun("article", syn=True)),
    "CASSE": (adj("cassé"), adj("abîmé", syn=True), adj("endommagé", syn=True)),
    "REMBOURSEMENT": (noun("remboursement"), adj("remboursé")),
    "QUALITE": (noun("qualité", g="f"),),
    "PRIX": (noun("prix", "prix"), noun("tarif", syn=True), noun("coût", syn=True)),
    "CHER": (adj("cher", "chère"),),
    "SATISFAIT": (adj("satisfait"), adj("content", syn=True), adj("ravi", syn=True)),
    "DECU": (adj("déçu"), adj("mécontent", syn=True)),
    "SERVICE": (noun("service"), noun("assistance", g="f", syn=True)),
    "COMMANDE": (noun("commande", g="f"),),
    "EMBALLAGE": (noun("emballage"),),
    "TAILLE": (noun("taille", g="f"),),
    "CONFORME": (adj("conforme"), adj("identique", syn=True)),
    "RECU": (adj("reçu"), adj("arrivé", syn=True)),
    "EXCELLENT": (
        adj("excellent"),
        adj("génial", mp="géniaux", syn=True),
        adj("parfait", syn=True),
        adj("super", "super", "super", "super", syn=True),
    ),
    "NUL": (adj("nul", "nulle"), adj("médiocre", syn=True)),
    "PROBLEME": (noun("problème"), noun("souci", syn=True), noun("défaut", syn=True)),
    "DELAI": (noun("délai"),),
    "RETOUR": (noun("retour"),),
    "FACILE": (adj("facile", adverb="facilement"), adj("simple", adverb="simplement", syn=True)),
    "RECOMMANDER": (
        verb("recommander", "recommande", "recommandons", "recommandé"),
        verb("conseiller", "conseille", "conseillons", "conseillé", syn=True),
    ),
    "COMPLIQUE": (adj("compliqué"), adj("difficile", syn=True)),
}

# Lemmas of the table that never occur in the reviews: a table is never exactly the corpus.
EXTRA_SYNONYMS = {"onéreux": "cher", "soigné": "excellent", "lenteur": "lent", "tarification": "prix"}

_STOPWORDS = """
a à ai aie aient ait alors as au aucun aussi autre aux avaient avais avait avec avez aviez avions avoir
avons ayant bien c ça car ce ceci cela celle celui ces cet cette chez comme d dans de des deux donc dont
du elle elles en encore es est et étaient étais était été êtes être eu eux fait fois fut ici il ils j je
jusqu l la là le les leur leurs lui m ma mais me même mes moi moins mon n ne ni nos notre nous on ont ou
où par pas peu plus pour quand que quel quelle qu qui s sa sans se ses si sien son sont sous suis sur
t ta te tes toi ton toujours tous tout toute toutes très trop tu un une vos votre vous vraiment y déjà
enfin puis après avant entre vers
"""
STOPWORDS = _STOPWORDS.split()

# Content words of the templates that are not concepts (kept by a good preparation, not measured).
_FILLERS = """
achat attends bon client description effectuée état jour mois semaine rien vendeur site avis
"""
FILLERS = _FILLERS.split()

HTML_WRAPPERS = (("<p>", "</p>"), ('<div class="rv-txt">', "</div>"), ("<span>", "</span>"))
HTML_INLINE = ("<br>", "<br/>", "&nbsp;")
HTML_ENTITIES = {"é": "&eacute;", "è": "&egrave;", "à": "&agrave;", "ç": "&ccedil;", "ê": "&ecirc;"}
URLS = (
    "https://www.shopix.fr/suivi?cmd={n}",
    "http://bit.ly/{code}",
    "www.shopix.fr/aide",
    "https://shopix.fr/p/{n}?utm_source=mail",
)
EMAILS = ("sav@shopix.fr", "support@shopix.fr", "{name}{d}@gmail.fr", "{name}.{name2}@orange.fr")
NAMES = ("marie", "julien", "nadia", "karim", "sophie", "lucas")
EMOJIS = ("😀", "😍", "👍", "👎", "😡", "🙁", "🔥", "💯", "📦", "⭐")
REFERENCES = ("(réf. CMD-{n})", "n°{n}", "#{code}", "FR{n}{d}")
PRICES = ("{e},{c} €", "{e}.{c}€", "{e} EUR", "{e}€")
DATES = ("{dd}/{mm}/2024", "{dd}/{mm}", "{dd}.{mm}.24")
RATINGS = ("{s}/5", "{s}/10", "★★★☆☆", "⭐⭐⭐⭐")
PUNCTUATION = ("!", "!!!", "?!", "...", ":)", ":(", ";)", " -")
