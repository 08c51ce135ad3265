"""The words of the stimulus bank: plain data, versioned with ``BANK_VERSION``.

Changing any list here changes the default stimuli; bump ``BANK_VERSION`` when you do
(a test pins the bank's digest).
"""

from __future__ import annotations

# nonce words are built from these: pronounceable, and (checked in the tests) disjoint
# from every real word below
ONSETS = (
    "b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
    "bl", "br", "dr", "fl", "gl", "gr", "kl", "pl", "pr", "sk", "sn", "st", "tr",
)  # fmt: skip
VOWELS = ("a", "e", "i", "o", "u")
CODAS = ("", "k", "n", "p", "t", "x", "m", "sh", "nd", "rk", "sp", "b", "g")

# objects of the fact-bank relations; every list long enough for one task's worth of
# distinct objects (34 facts x up to 3 relations share them)
CATEGORIES = (
    "salmon", "sparrow", "beetle", "lizard", "tulip", "maple", "cherry", "carrot", "barley", "walnut",
    "pony", "goat", "falcon", "shark", "moth", "frog", "daisy", "cactus", "lemon", "onion",
    "mouse", "otter", "pigeon", "trout", "spider", "snail", "fern", "willow", "peach", "pepper",
)  # fmt: skip
HABITATS = (
    "forest", "desert", "ocean", "cave", "swamp", "river", "mountains", "jungle", "meadow", "tundra",
    "lake", "city", "valley", "marsh", "reef", "prairie", "canyon", "island", "glacier", "savanna",
    "orchard", "village", "harbor", "volcano", "pond", "attic", "garden", "cellar", "bay", "steppe",
)  # fmt: skip
FOODS = (
    "seeds", "grass", "berries", "insects", "honey", "leaves", "nuts", "worms", "bread", "cheese",
    "mushrooms", "rice", "corn", "apples", "plankton", "bamboo", "acorns", "clover", "moss", "eggs",
    "beans", "grapes", "kelp", "bark", "roots", "figs", "oats", "pears", "snails", "pollen",
)  # fmt: skip
COLORS = (
    "red", "blue", "green", "yellow", "purple", "orange", "pink", "brown", "black", "white",
    "gray", "silver", "golden", "violet", "crimson", "turquoise", "beige", "ivory", "maroon", "olive",
    "teal", "amber", "scarlet", "indigo", "bronze", "lavender", "navy", "tan", "coral", "magenta",
)  # fmt: skip
# "have a ___": properties for the fact bank and for transitivity (property and its control)
PARTS = (
    "tail", "horn", "beak", "shell", "fin", "mane", "trunk", "tusk", "claw", "wing",
    "hump", "snout", "crest", "pouch", "hoof", "antler", "whisker", "gill", "fang", "spine",
    "quill", "stinger", "tentacle", "paw", "flipper", "bill", "nest", "burrow", "den", "collar",
    "saddle", "bell", "hat", "scarf", "crown", "shield", "lantern", "ribbon", "helmet", "cape",
    "badge", "compass", "drum", "flute", "basket", "ladder", "map", "key", "ring", "rope",
    "shovel", "kite", "wagon", "anchor", "candle", "clock", "mirror", "pillow", "blanket", "bucket",
    "umbrella", "whistle", "backpack", "banner", "sled", "tent", "hammock", "net", "oar", "spoon",
    "pocket", "handle", "lid", "button", "zipper", "strap", "buckle", "hood", "sail", "wheel",
)  # fmt: skip

# entailment pairs for asymmetry: "a kind of HYPONYM" entails "a kind of HYPERNYM"
HYPERNYMS = (
    ("dog", "animal"), ("robin", "bird"), ("tuna", "fish"), ("ant", "insect"), ("snake", "reptile"),
    ("rose", "flower"), ("oak", "tree"), ("banana", "fruit"), ("potato", "vegetable"), ("wheat", "grain"),
    ("cinnamon", "spice"), ("cheddar", "cheese"), ("bagel", "bread"), ("coffee", "drink"), ("hammer", "tool"),
    ("sword", "weapon"), ("violin", "instrument"), ("truck", "vehicle"), ("canoe", "boat"), ("castle", "building"),
    ("sofa", "furniture"), ("jacket", "clothing"), ("sandal", "shoe"), ("beret", "hat"), ("silk", "fabric"),
    ("copper", "metal"), ("ruby", "gem"), ("granite", "rock"), ("tennis", "sport"), ("tango", "dance"),
    ("chess", "game"), ("lullaby", "song"), ("blizzard", "storm"), ("measles", "disease"), ("triangle", "shape"),
    ("whale", "mammal"), ("helicopter", "aircraft"), ("novel", "book"), ("pliers", "gadget"), ("crimson", "red"),
)  # fmt: skip

# exclusive attributes for logical consistency: each value excludes the others
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PLANETS = ("Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune")
SIGNS = (
    "Aries", "Taurus", "Gemini", "Cancer", "Leo", "Virgo",
    "Libra", "Scorpio", "Sagittarius", "Capricorn", "Aquarius", "Pisces",
)  # fmt: skip

# the broad probe set: everyday facts a pretrained LM knows
WORLD_FACTS = (
    ("The capital of France is", " Paris"), ("The capital of Japan is", " Tokyo"),
    ("Water freezes at zero degrees", " Celsius"), ("The sun rises in the", " east"),
    ("A week has seven", " days"), ("Bees make", " honey"), ("The opposite of hot is", " cold"),
    ("Cows drink", " water"), ("The largest ocean is the", " Pacific"), ("Shakespeare wrote", " Hamlet"),
    ("Grass is", " green"), ("The Earth orbits the", " Sun"), ("A triangle has three", " sides"),
    ("Ice is frozen", " water"), ("Dogs are a kind of", " animal"), ("A rose is a kind of", " flower"),
    ("Paris is in", " France"), ("The first month of the year is", " January"), ("Two plus two equals", " four"),
    ("Birds can", " fly"), ("The moon orbits the", " Earth"), ("A spider has eight", " legs"),
    ("Snow is", " white"), ("Fish live in", " water"),
)  # fmt: skip

# neutral text for the in-context control: states nothing about any entity or relation the
# bank uses; cut to the token length of each stimulus
NEUTRAL_PASSAGE = (
    "It was an ordinary afternoon and nothing much happened. The clock on the wall kept "
    "ticking while people went about their usual business. Someone made tea, someone read "
    "quietly, and the light outside changed slowly as the hours went by. Later on the "
    "streets grew calm again and the evening arrived without any news worth telling. "
    "Tomorrow would probably look much the same, which suited almost everybody well enough."
)

# pure-noise text for noise invariance: nonce words only, several shapes
GIBBERISH_SHAPES = ((4, "."), (5, "."), (6, "!"), (3, "?"), (7, "."), (5, ","))
