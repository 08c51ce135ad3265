"""The labelled sentence bank: reviews of everyday things, for text classifiers.

Plain data and one pure function of (LABELLED_BANK_VERSION, seed, count), like the fact bank.
Labels are sentiments, ``0`` negative and ``1`` positive (the label order of every
common binary sentiment classifier, and valid for any classifier with two or more
classes). Every sentence is about one aspect of one topic ("the soup at the
restaurant"), so there are graded neighbours of each item:

- its paraphrase (same aspect, synonym adjective, other wording) - distance 1;
- other aspects of the same topic, same sentiment - distance 2;
- other topics, same sentiment - distance 3 (another item's sentence).

Within one task a (topic, aspect) pair is used once; each topic carries two items, one of
each sentiment, so a topic is never a proxy for a label.
"""

from __future__ import annotations

from dataclasses import dataclass

from eifbench.bank import LABELLED_BANK_VERSION
from eifbench.bank.draws import Draws
from eifbench.errors import InputError
from eifbench.stimuli import Example

NEGATIVE, POSITIVE = 0, 1
ASPECTS_PER_TOPIC = 6

# topic: (the phrase after the preposition, the preposition, six aspects)
TOPICS = (
    ("restaurant", "at", ("service", "soup", "dessert", "waiters", "menu", "coffee")),
    ("movie", "in", ("acting", "plot", "soundtrack", "ending", "dialogue", "villain")),
    ("hotel", "at", ("room", "breakfast", "pool", "staff", "bed", "view")),
    ("phone", "of", ("battery", "screen", "camera", "speaker", "charger", "case")),
    ("concert", "at", ("sound", "band", "crowd", "lighting", "encore", "venue")),
    ("novel", "in", ("prose", "characters", "pacing", "chapters", "twist", "narrator")),
    ("flight", "on", ("seat", "crew", "meal", "boarding", "legroom", "landing")),
    ("museum", "at", ("exhibits", "guides", "paintings", "cafe", "gift shop", "audio tour")),
    ("laptop", "of", ("keyboard", "trackpad", "display", "fan", "hinge", "webcam")),
    ("park", "in", ("playground", "paths", "benches", "fountain", "lawns", "trees")),
    ("video game", "in", ("graphics", "controls", "story", "music", "levels", "boss fights")),
    ("bakery", "at", ("bread", "croissants", "cakes", "cashier", "prices", "cookies")),
    ("gym", "at", ("trainers", "machines", "showers", "classes", "lockers", "music")),
    ("train", "on", ("seats", "conductor", "toilets", "wifi", "timetable", "heating")),
    ("play", "in", ("actors", "costumes", "script", "stage", "songs", "finale")),
    ("car", "of", ("engine", "brakes", "steering", "radio", "seats", "mileage")),
    ("school", "at", ("teachers", "lessons", "library", "canteen", "playground", "homework")),
    ("festival", "at", ("food stalls", "headliners", "campsite", "toilets", "tickets", "atmosphere")),
    ("cafe", "at", ("espresso", "pastries", "baristas", "terrace", "sandwiches", "tea")),
    ("app", "in", ("interface", "updates", "notifications", "search", "settings", "login")),
)  # fmt: skip

# (adjective, synonym) pairs; every adjective fits every aspect
ADJECTIVES = {
    POSITIVE: (
        ("wonderful", "marvellous"), ("excellent", "superb"), ("delightful", "lovely"), ("fantastic", "terrific"),
        ("great", "brilliant"), ("pleasant", "enjoyable"), ("impressive", "remarkable"), ("outstanding", "exceptional"),
        ("charming", "appealing"), ("perfect", "flawless"), ("amazing", "astonishing"), ("splendid", "magnificent"),
    ),
    NEGATIVE: (
        ("terrible", "awful"), ("dreadful", "horrible"), ("disappointing", "underwhelming"), ("poor", "shoddy"),
        ("unpleasant", "disagreeable"), ("boring", "tedious"), ("mediocre", "lacklustre"), ("annoying", "irritating"),
        ("miserable", "wretched"), ("useless", "worthless"), ("appalling", "atrocious"), ("dismal", "bleak"),
    ),
}  # fmt: skip

STATEMENT = "The {aspect} {prep} the {topic} {be} {adjective}."
PARAPHRASES = (
    "I found the {aspect} {prep} the {topic} {adjective}.",
    "Honestly, the {topic}'s {aspect} {be} {adjective}.",
)

# the broad probe set: sentiment without a topic, which any sentiment classifier reads
GENERIC = (
    ("I would happily recommend it to anyone.", POSITIVE), ("It was a complete waste of money.", NEGATIVE),
    ("Everything about it made me smile.", POSITIVE), ("I regret every minute I spent on it.", NEGATIVE),
    ("This was the best day I have had in years.", POSITIVE), ("Nothing worked the way it should.", NEGATIVE),
    ("I am so glad we went.", POSITIVE), ("I will never go back there again.", NEGATIVE),
    ("It exceeded all of my expectations.", POSITIVE), ("It was a total letdown from start to finish.", NEGATIVE),
    ("We had a truly lovely time.", POSITIVE), ("I left feeling angry and cheated.", NEGATIVE),
    ("Five stars, no hesitation.", POSITIVE), ("One star, and that is generous.", NEGATIVE),
    ("It made the whole week better.", POSITIVE), ("It ruined the whole evening.", NEGATIVE),
)  # fmt: skip


@dataclass(frozen=True)
class Review:
    """One labelled sentence's content: an aspect of a topic, an adjective pair, a label."""

    topic: int
    aspect: str
    adjective: tuple[str, str]
    label: int

    def sentence(self) -> Example:
        """``The soup at the restaurant was wonderful.`` with its label."""
        return self._fill(STATEMENT, self.adjective[0])

    def paraphrase(self, index: int) -> Example:
        """The same review in other words, with the synonym adjective."""
        return self._fill(PARAPHRASES[index % len(PARAPHRASES)], self.adjective[1])

    def _fill(self, template: str, adjective: str) -> Example:
        topic, prep, _ = TOPICS[self.topic]
        be = "were" if self.aspect.endswith("s") else "was"  # every aspect ending in s is a plural
        return Example(
            template.format(aspect=self.aspect, prep=prep, topic=topic, be=be, adjective=adjective), self.label
        )


@dataclass(frozen=True)
class ReviewFamily:
    """A review and two reviews of other aspects of the same topic, with the same label."""

    review: Review
    related: tuple[Review, Review]


def review_families(count: int, seed: int) -> list[ReviewFamily]:
    """``count`` review families, labels alternating, each (topic, aspect) used once.

    Raises:
        InputError: more families than the bank holds (two per topic).

    """
    capacity = len(TOPICS) * ASPECTS_PER_TOPIC // 3
    if count > capacity:
        raise InputError(
            f"the labelled bank holds at most {capacity} reviews per task (asked for {count}); pass fewer items "
            "(--eif-limit) or your own labelled file (--eif-stimuli with text,label columns)."
        )
    draws = Draws("eifbench-bank", LABELLED_BANK_VERSION, seed, "labelled")
    topics = [t for t in draws.child("topics").shuffled(range(len(TOPICS))) for _ in range(2)]
    aspects = {t: draws.child("aspects", t).shuffled(TOPICS[t][2]) for t in range(len(TOPICS))}
    families = []
    for i in range(count):
        topic, label = topics[i], (POSITIVE, NEGATIVE)[i % 2]
        pairs = draws.child("adjectives", i).sample(ADJECTIVES[label], 3)
        own, first, second = (Review(topic, aspects[topic].pop(), pair, label) for pair in pairs)
        families.append(ReviewFamily(own, (first, second)))
    return families


def generic_probes() -> list[Example]:
    """Sentences with a sentiment and no topic: the broad probe set."""
    return [Example(text, label) for text, label in GENERIC]
