"""The context budget: which passages, how much summary and which recent turns go in a request."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sipai.knowledge import KnowledgeBase
from sipai.llm.tokens import TokenCounter
from sipai.support.budget import (
    ANSWER_TOKENS,
    BEST_PASSAGE_TOKENS,
    KNOWLEDGE_TOKENS,
    MAX_PASSAGES,
    OLDER_ANSWER_TOKENS,
    RECENT_TOKENS,
    SUMMARY_TOKENS,
    ContextBudget,
    Turn,
    recent_fits,
)
from sipai.support.prompts import HANDOFF_MARK, system_prompt

MODEL = "openai/gpt-oss-120b"
STEPS = "\n".join(f"{n}. Paso número {n}: abre la app y toca el botón {n}. Luego espera un poco "
                  "a que el túnel se active y comprueba el icono de la llave." for n in range(1, 9))
ANSWER = "\n\n".join(f"Parte {n}. Primero revisa la red {n}. Después reinicia el túnel y vuelve "
                     "a probar con otra red, datos móviles o wifi." for n in range(1, 7))


@dataclass(frozen=True)
class FakePassage:
    article_id: str
    text: str
    score: float
    title: str = "Título"
    section: str = "Pasos"
    url: str | None = None


@dataclass(frozen=True)
class FakeGroundedPassage(FakePassage):
    grounding: str = ""


def budget(counter: TokenCounter | None = None) -> ContextBudget:
    return ContextBudget(counter or TokenCounter(), model=MODEL, max_completion_tokens=1000,
                         context_tokens=8000, tpm=8000)


def test_only_passages_close_to_the_best_are_sent() -> None:
    passages = [FakePassage("a", "Texto corto de a.", 10.0), FakePassage("b", "Texto de b.", 6.0),
                FakePassage("c", "Texto de c.", 5.0), FakePassage("d", "Texto de d.", 5.6)]
    plan = budget().build(language="es", user_text="hola", passages=passages)
    assert [p.article_id for p in plan.passages] == ["a", "b"]
    system = plan.messages[0]["content"]
    assert '<article id="a" title="Título · Pasos">' in system and 'id="c"' not in system


def test_at_most_three_passages_and_the_best_one_whole_when_it_fits() -> None:
    best = "Qué hacer cuando el túnel no conecta en el hotel."
    passages = [FakePassage("best", best, 9.0),
                *(FakePassage(f"p{n}", STEPS, 8.0) for n in range(5))]
    plan = budget().build(language="es", user_text="no conecta", passages=passages)
    assert len(plan.passages) <= MAX_PASSAGES
    assert plan.passages[0].text == best
    # The others are outlines: every step's first sentence, marked as shortened.
    second = plan.passages[1].text
    assert second.endswith("…") and second.startswith("1. Paso número 1: abre la app")
    assert (plan.passages[1].article_id, plan.passages[1].title) == ("p0", "Título")


def test_a_long_best_passage_is_shortened_to_its_allowance() -> None:
    counter = TokenCounter()
    assert counter.count(STEPS) > BEST_PASSAGE_TOKENS
    plan = budget(counter).build(language="es", user_text="x",
                                 passages=[FakePassage("a", STEPS, 1.0)])
    assert counter.count(plan.passages[0].text) <= BEST_PASSAGE_TOKENS
    assert "8. Paso número 8" in plan.passages[0].text  # the last step survives
    # Much longer than its allowance: the opening of its outline (each step's action).
    plan = budget(counter).build(language="es", user_text="x",
                                 passages=[FakePassage("a", "\n".join([STEPS] * 4), 1.0)])
    assert counter.count(plan.passages[0].text) <= BEST_PASSAGE_TOKENS
    assert plan.passages[0].text.startswith("1. Paso número 1: abre la app y toca el botón 1.\n"
                                            "2. Paso número 2:")


def test_the_best_article_is_sent_as_its_intro_and_steps() -> None:
    counter = TokenCounter()
    intro = "Qué hacer cuando el túnel no conecta en el hotel."
    grounded = FakeGroundedPassage("best", intro, 9.0, title="Redes que bloquean", section="",
                                   grounding=f"{intro}\nPasos:\n{STEPS}")
    passages = [grounded, FakeGroundedPassage("other", STEPS, 8.0, grounding="Otro.\nPasos:\nx")]
    plan = budget(counter).build(language="es", user_text="no conecta en el hotel",
                                 passages=passages)
    best, other = plan.passages
    assert best.text.startswith(f"{intro}\nPasos:\n1. Paso número 1: abre la app")
    assert "8. Paso número 8" in best.text and counter.count(best.text) <= BEST_PASSAGE_TOKENS
    # The steps section is named in the text; the title is the article's.
    system = plan.messages[0]["content"]
    assert '<article id="best" title="Redes que bloquean">\nQué hacer cuando' in system
    # Only the best is replaced by its grounding; the next one still gets its share.
    assert other.section == "Pasos" and other.text.startswith("1. Paso número 1")


def test_on_a_close_call_the_best_leaves_the_next_article_room_to_be_named() -> None:
    counter = TokenCounter()
    long_title = "Cambiar de wifi a datos móviles corta el túnel (Android, iPhone, Windows)"

    def plan_for(second_score: float) -> list[str]:
        passages = [FakeGroundedPassage("best", "Intro.", 9.0, section="",
                                        grounding="\n".join([STEPS] * 4)),
                    FakePassage("right", "Qué hacer cuando cambias de red.", second_score,
                                title=long_title, section="")]
        plan = budget(counter).build(language="es", user_text="x", passages=passages)
        assert plan.passages[0].article_id == "best"
        return [p.text for p in plan.passages]

    close = plan_for(8.5)  # 0.94 of the best: the right article may well be this one
    assert len(close) == 2 and close[1].startswith("Qué hacer")
    far = plan_for(6.0)  # 0.67: the best article keeps its whole allowance for its steps
    assert len(far) == 1 and counter.count(far[0]) > counter.count(close[0])


def test_the_last_exchange_is_kept_with_the_answer_shortened() -> None:
    counter = TokenCounter()
    history = [Turn("user", "me llamo Ana y uso un Xiaomi"), Turn("assistant", ANSWER)]
    plan = budget(counter).build(language="es", user_text="¿y ahora?", history=history)
    roles = [m["role"] for m in plan.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert plan.messages[1]["content"] == "me llamo Ana y uso un Xiaomi"
    answer = plan.messages[2]["content"]
    assert counter.count(answer) <= ANSWER_TOKENS and answer.endswith("…")
    assert answer.startswith("Parte 1. Primero revisa la red 1.")


def test_earlier_unsummarised_exchanges_are_sent_with_their_answers_shorter() -> None:
    counter = TokenCounter()
    history = [Turn("user", "me llamo Ana"), Turn("assistant", "Antes. " + ANSWER),
               Turn("user", "uso un Xiaomi"), Turn("assistant", ANSWER)]
    assert recent_fits(history, counter)
    plan = budget(counter).build(language="es", user_text="¿y ahora?", history=history)
    sent = [m["content"] for m in plan.messages[1:-1]]
    assert sent[0] == "me llamo Ana" and sent[2] == "uso un Xiaomi"
    assert sent[1].startswith("Antes.") and counter.count(sent[1]) <= OLDER_ANSWER_TOKENS
    assert OLDER_ANSWER_TOKENS < counter.count(sent[3]) <= ANSWER_TOKENS
    assert plan.turns_dropped == 0
    total = sum(counter.count(text) + 4 for text in sent)
    assert total <= RECENT_TOKENS


def test_the_unsummarised_messages_stop_fitting_at_their_allowance() -> None:
    counter = TokenCounter()
    exchange = [Turn("user", "el túnel se cae otra vez cuando apago la pantalla del móvil"),
                Turn("assistant", ANSWER)]
    assert recent_fits(exchange * 2, counter)
    assert not recent_fits(exchange * 3, counter)  # the older two are due for the summary
    short = [Turn("user", "sigue igual"), Turn("assistant", ANSWER)]
    assert recent_fits(short * 3, counter)  # short messages: three exchanges fit
    assert not recent_fits([Turn("user", "hola"), Turn("assistant", "hola")] * 4, counter)
    assert not recent_fits([Turn("user", "detalle " * 200)], counter)


def test_older_turns_give_way_and_the_window_never_starts_with_an_answer() -> None:
    history = [Turn("user" if n % 2 == 0 else "assistant", f"mensaje {n} " + ANSWER)
               for n in range(12)]
    plan = budget().build(language="es", user_text="sigue igual", history=history)
    recent = plan.messages[1:-1]
    assert recent and recent[0]["role"] == "user"
    assert len(recent) < 6 and plan.turns_dropped == 12 - len(recent)
    assert recent[-1]["content"].startswith("mensaje 11")


def test_the_summary_is_sent_within_its_allowance() -> None:
    counter = TokenCounter()
    summary = "El cliente se llama Ana. " + "Probó cambiar el DNS y reiniciar. " * 60
    plan = budget(counter).build(language="es", user_text="hola", summary=summary)
    system = plan.messages[0]["content"]
    assert "Resumen de la conversación" in system and "Ana" in system
    tail = system[system.index("Resumen de la conversación"):]
    assert counter.count(tail) <= SUMMARY_TOKENS
    assert plan.summary_used


def test_prompt_size_does_not_grow_with_the_conversation() -> None:
    passages = [FakePassage(f"p{n}", STEPS, 9.0 - n) for n in range(4)]
    sizes = []
    for turns in (2, 20, 200):
        history = [Turn("user" if n % 2 == 0 else "assistant", ANSWER) for n in range(turns)]
        plan = budget().build(language="es", user_text="no conecta", history=history,
                              summary="Ana, Xiaomi, WireGuard. " * 40, passages=passages)
        sizes.append(plan.prompt_tokens)
    assert sizes[0] == sizes[1] == sizes[2]
    # Persona, then each part within its allowance (plus headers and message framing).
    counter = TokenCounter()
    allowances = KNOWLEDGE_TOKENS + SUMMARY_TOKENS + RECENT_TOKENS
    assert sizes[0] <= counter.count(system_prompt("es")) + allowances + 40


def test_a_smaller_scale_shrinks_the_request() -> None:
    passages = [FakePassage(f"p{n}", STEPS, 9.0) for n in range(3)]
    history = [Turn("user", "hola"), Turn("assistant", ANSWER)]
    tight = budget()
    tight.limit = 700
    full = tight.build(language="es", user_text="x", history=history, passages=passages)
    small = tight.build(language="es", user_text="x", history=history, passages=passages,
                        scale=0.5)
    assert small.prompt_tokens < full.prompt_tokens <= 700


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_persona_keeps_every_rule(language: str) -> None:
    persona = system_prompt(language)
    human = "/humano" if language == "es" else "/human"
    for needle in ("Sip", human, HANDOFF_MARK, "WireGuard", "Outline"):
        assert needle in persona
    lowered = persona.lower()
    assert ("español" if language == "es" else "english") in lowered
    assert ("nunca reveles" if language == "es" else "never reveal") in lowered
    assert ("no inventes" if language == "es" else "never invent") in lowered


def test_the_right_article_is_sent_for_a_real_question() -> None:
    kb = KnowledgeBase.load(None, None)
    question = "wireguard conecta pero no navega"
    passages = kb.search(question, k=4, language="es")
    plan = budget().build(language="es", user_text=question, passages=passages)
    assert 'id="wg-no-internet-es"' in plan.messages[0]["content"]
    assert plan.passages[0].article_id == "wg-no-internet-es"
