"""`hotline check` names the right file and line, and says the fix in an operator's words.

Each test breaks a private copy of the content the way an operator would, finding what to break
from the files themselves (so an ordinary edit of the shipped prompts does not break the test).
"""
from __future__ import annotations

from pathlib import Path

import yaml

from hotline.checks.checker import run_checks
from hotline.content.yamlio import load
from support import TODAY, line_of


def found(tree: Path) -> list[tuple[str, int | None, str, str]]:
    return [(p.file, p.line, p.message, p.fix) for p in run_checks(tree, TODAY).errors]


def one_line_prompts(path: Path) -> list[tuple[str, int]]:
    """(key, line) of each prompt written on one line as `key: text`, in file order."""
    doc = load(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(k, doc.line(k)) for k, v in doc.data.items()
            if isinstance(v, str) and lines[doc.line(k) - 1].startswith(f"{k}: ")]


def test_a_deleted_prompt_is_reported_where_it_belongs(tree: Path) -> None:
    kk = tree / "prompts" / "kk.yaml"
    en_keys = list(load(tree / "prompts" / "en.yaml").data)
    prompts = one_line_prompts(kk)
    # a one-line prompt in the middle of the file, whose neighbours are both in English too
    i = len(prompts) // 2
    (before, _), (gone, line), (after, _) = prompts[i - 1], prompts[i], prompts[i + 1]
    assert en_keys.index(before) < en_keys.index(gone) < en_keys.index(after)
    lines = kk.read_text(encoding="utf-8").splitlines(keepends=True)
    del lines[line - 1]
    kk.write_text("".join(lines), encoding="utf-8")
    en_line = line_of(tree / "prompts" / "en.yaml", f"{gone}:")
    [(file, at, message, fix)] = [f for f in found(tree) if f"'{gone}'" in f[2]]
    assert (file, at) == ("prompts/kk.yaml", line_of(kk, f"{after}:")), "where it was, not the file's first line"
    assert message == f"prompt '{gone}' is missing in kk: it belongs after '{before}', as in prompts/en.yaml line {en_line}"
    assert fix.startswith(f"Add '{gone}:' here (after '{before}') with the kk text of: \"")


def test_an_unquoted_colon_says_put_the_text_in_quotes(tree: Path) -> None:
    ru = tree / "prompts" / "ru.yaml"
    key, line = next((k, n) for k, n in one_line_prompts(ru)
                     if '"' not in (ru.read_text(encoding="utf-8").splitlines()[n - 1]))
    lines = ru.read_text(encoding="utf-8").splitlines(keepends=True)
    text = lines[line - 1].split(": ", 1)[1].rstrip("\n")
    lines[line - 1] = f"{key}: Важно: {text}\n"
    ru.write_text("".join(lines), encoding="utf-8")
    assert ("prompts/ru.yaml", line,
            'the text has a colon followed by a space (": ") in it, which YAML reads as the start of another name',
            f'Put the text in quotes: {key}: "Важно: {text}"') in found(tree)


def test_a_colon_in_a_part_of_a_topic_is_reported_on_that_part(tree: Path) -> None:
    ru = tree / "prompts" / "ru.yaml"
    doc = load(ru)
    topic = next(k for k, v in doc.data.items() if isinstance(v, list) and len(v) > 1)
    line = doc.line(topic, 1)
    lines = ru.read_text(encoding="utf-8").splitlines(keepends=True)
    part = doc.data[topic][1]
    lines[line - 1] = f"  - Важно: {part}\n"
    ru.write_text("".join(lines), encoding="utf-8")
    errors = found(tree)
    assert ("prompts/ru.yaml", line,
            f"part 2 of '{topic}' has a colon followed by a space (\": \") in it, so YAML reads it as a name and a "
            "value instead of a text", f'Put the whole part in quotes: - "Важно: {part}"') in errors
    assert not [e for e in errors if e[0] == "config/menu.yaml"], "the menu is not blamed for it"


def test_a_plural_form_moved_left_is_blamed_on_its_own_line(tree: Path) -> None:
    ru = tree / "prompts" / "ru.yaml"
    line = line_of(ru, "  few: ")
    lines = ru.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line - 1] = lines[line - 1].lstrip(" ")
    ru.write_text("".join(lines), encoding="utf-8")
    assert ("prompts/ru.yaml", line,
            "this line starts 0 spaces in, the lines around it 2: the spaces at the start of a line say what it "
            "belongs to", f"Start the line 2 spaces in, like lines {line - 1} and {line + 1}.") in found(tree)


def add_office(tree: Path, oid: str, short: dict[str, str]) -> None:
    offices = tree / "config" / "offices.yaml"
    entry = {oid: {"short": short, "city": {lang: "Ақтөбе" if lang == "kk" else "Aktobe" for lang in short},
                   "address": {lang: f"{short[lang]}, 40" for lang in short},
                   "source": "GUIDE", "verified_on": TODAY.isoformat()}}
    text = yaml.safe_dump(entry, allow_unicode=True, sort_keys=False)
    offices.write_text(offices.read_text(encoding="utf-8").rstrip("\n") + "\n"
                       + "".join(f"  {line}\n" for line in text.splitlines()), encoding="utf-8")


def test_a_long_list_of_offices_blames_their_short_addresses(tree: Path) -> None:
    langs = list(load(tree / "config" / "hotline.yaml").data["languages"])
    long = {lang: "Абылайхан даңғылы көшесі бойындағы 40" for lang in langs}
    add_office(tree, "aktobe", long)
    errors = [e for e in found(tree) if "sms.addresses" in e[2]]
    assert errors and {e[0] for e in errors} == {"config/offices.yaml"}, errors
    line = load(tree / "config" / "offices.yaml").line("offices", "aktobe", "short", "kk")
    kk = next(e for e in errors if " in kk " in e[2])
    assert kk[1] == line, "the longest short: address, the one to shorten first"
    assert kk[2].startswith("the SMS with every office address (sms.addresses) in kk takes 3 segments: ")
    assert kk[3].startswith("Shorten the kk short: addresses of the offices by ")
    assert f"(the longest is 'aktobe': \"{long['kk']}\")" in kk[3]


def set_options(tree: Path, menu_id: str, options: dict[str, str]) -> None:
    menu = tree / "config" / "menu.yaml"
    data = yaml.safe_load(menu.read_text(encoding="utf-8"))
    data["nodes"][menu_id]["options"] = options
    menu.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_a_universal_key_names_the_free_keys_or_says_there_are_none(tree: Path) -> None:
    hotline = load(tree / "config" / "hotline.yaml").data
    universal = {str(k) for k in hotline["keys"].values()}
    sms_key = str(hotline["keys"]["sms"])
    main = yaml.safe_load((tree / "config" / "menu.yaml").read_text(encoding="utf-8"))["nodes"]["main"]["options"]
    first = next(iter(main.values()))
    digits = [k for k in "123456789" if k not in universal]
    set_options(tree, "main", {**{k: v for k, v in main.items()}, sms_key: first})
    free = [k for k in digits if k not in main]
    [(_, _, message, fix)] = [e for e in found(tree) if f"key {sms_key} is the universal" in e[2]]
    if free:
        assert fix == (f"Pick a free key for it: {', '.join(free)} (the universal keys mean the same on every menu, "
                       "so they cannot be options).")
    full = {k: first for k in digits}
    set_options(tree, "main", {**full, sms_key: first})
    [(_, _, message, fix)] = [e for e in found(tree) if f"key {sms_key} is the universal" in e[2]]
    assert fix == ("Menu 'main' has no free key left: every other key is an option or a universal key. Move some of "
                   "its options into a new menu (a node of type: menu with those options) and give that menu one key here.")
    assert "Pick" not in fix


def test_errors_in_several_files_and_sms_sizes_come_in_one_run(tree: Path) -> None:
    """No stages: a menu error does not hide an SMS that is too long, and no footer says otherwise."""
    hotline = load(tree / "config" / "hotline.yaml").data
    langs = list(hotline["languages"])
    add_office(tree, "aktobe", {lang: "Абылайхан даңғылы көшесі бойындағы 40" for lang in langs})
    main = yaml.safe_load((tree / "config" / "menu.yaml").read_text(encoding="utf-8"))["nodes"]["main"]["options"]
    set_options(tree, "main", {**main, str(hotline["keys"]["sms"]): next(iter(main.values()))})
    report = run_checks(tree, TODAY)
    files = {p.file for p in report.errors}
    assert {"config/menu.yaml", "config/offices.yaml"} <= files, files
    assert report.skipped == []
    assert "Not checked yet" not in report.render()
    assert "checked once the errors above are fixed" not in report.render()
