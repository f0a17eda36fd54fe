"""The catalogs are complete and consistent, and every message the code uses exists."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from desktop.alert_models import (
    ChannelTableModel,
    DeliveryTableModel,
    RuleTableModel,
    SilenceTableModel,
)
from desktop.anomaly_table import AnomalyTableModel
from desktop.audit_view import AuditTableModel
from desktop.history_models import EpisodeTableModel, EventTableModel
from desktop.node_table import NodeTableModel
from desktop.overview_models import (
    NODE_STATES,
    POD_STATES,
    RecentAlertModel,
    RecentEventModel,
    TopAnomalyModel,
)
from desktop.overview_view import CARDS as OVERVIEW_CARDS
from desktop.pod_table import PodTableModel
from desktop.resources_view import PAGES as RESOURCE_PAGES
from desktop.silence_dialog import MATCHERS
from desktop.slo_view import ObjectiveTableModel, TargetTableModel
from desktop.theme import CHOICES as THEME_CHOICES
from desktop.workload_table import WorkloadTableModel
from headless_agent import i18n
from headless_agent.alerts.config import CHANNEL_TYPES
from headless_agent.alerts.settings_file import FILE_NAME as ALERTS_FILE_NAME
from headless_agent.assistant import AUDIT_ACTIONS as ASSISTANT_AUDIT_ACTIONS
from headless_agent.detect.anomaly import Severity
from headless_agent.kube import errors as kube_errors
from headless_agent.kube.health import ClusterHealth, ConnectionState
from headless_agent.ops.commands import ACTIONS
from headless_agent.store.paths import FILE_NAME
from headless_agent.store.records import EPISODE_STEPS

ROOT = Path(__file__).resolve().parents[2]
ID_PATTERN = re.compile(
    r"^(assistant|anomaly|error|app|banner|cluster|tab|pods|nodes|workloads|sidebar|state|tooltip|status|column|severity|language|history|action|field|confirm|button|operation|preview|audit|console|yaml|logs|alert|alerts|silence|delivery|deliveries|tray|palette|settings|namespace|welcome|slo|resources|jobs|metrics|overview|chart|detail)\.[a-z0-9_.]*[a-z0-9_]$"
)


def _catalog(language: str, folder: Path | None = None) -> dict[str, tuple[str, ...]]:
    path = (folder or i18n.catalog_dir()) / language / "atlhyper.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    entries = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        entries[key] = tuple(strings)
    return entries


def plural_ids(folder: Path | None = None) -> set[str]:
    """The ``msgid_plural`` of every plural message (not ids the code uses by name)."""
    path = (folder or i18n.catalog_dir()) / "en" / "atlhyper.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {str(m.id[1]) for m in catalog if isinstance(m.id, tuple | list)}


def catalog_problems(folder: Path | None = None) -> list[str]:
    """What is wrong with the catalogs: missing, extra, empty, or placeholder changes."""
    reference = _catalog("en", folder)
    problems = []
    for language in i18n.LANGUAGES:
        entries = _catalog(language, folder)
        problems += [f"{language}: missing {m}" for m in sorted(reference.keys() - entries.keys())]
        problems += [f"{language}: unknown {m}" for m in sorted(entries.keys() - reference.keys())]
        for message_id, forms in entries.items():
            if message_id not in reference:
                continue
            expected = i18n.placeholders(reference[message_id][-1])
            for form in forms:
                if not form:
                    problems.append(f"{language}: {message_id} is empty")
                elif i18n.placeholders(form) != expected:
                    found = sorted(i18n.placeholders(form))
                    problems.append(
                        f"{language}: {message_id} has {found}, expected {sorted(expected)}"
                    )
    return problems


def used_message_ids() -> set[str]:
    """Every literal message id in the engine and the desktop, plus the computed families."""
    used = set()
    for folder in ("headless_agent", "desktop"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and ID_PATTERN.match(node.value)
                    # the history and alert settings files' names, not messages
                    and node.value not in (FILE_NAME, ALERTS_FILE_NAME)
                ):
                    used.add(node.value)
    used |= {f"state.{s.value}" for s in ConnectionState}
    used |= {f"severity.{s.label}" for s in Severity}
    tables = (
        AnomalyTableModel,
        PodTableModel,
        NodeTableModel,
        WorkloadTableModel,
        EpisodeTableModel,
        EventTableModel,
        AuditTableModel,
        RuleTableModel,
        ChannelTableModel,
        SilenceTableModel,
        DeliveryTableModel,
        TopAnomalyModel,
        RecentEventModel,
        RecentAlertModel,
    )
    used |= {f"column.{c}" for table in tables for c in table.columns}
    used |= {f"language.{code}" for code in i18n.LANGUAGES}
    used |= {f"history.transition.{step}" for step in EPISODE_STEPS}
    used |= {f"action.{action}" for action in ACTIONS}
    used |= {f"action.{action}" for action in ASSISTANT_AUDIT_ACTIONS}
    used |= {f"preview.{action}" for action in ACTIONS}
    used |= {f"audit.outcome.{outcome}" for outcome in ("succeeded", "failed", "refused")}
    used |= {f"alerts.type.{kind}" for kind in CHANNEL_TYPES}
    used |= {"alerts.target.desktop", "alerts.target.slack"}  # the channels with no address
    used |= {f"alerts.page.{page}" for page in ("rules", "channels", "silences", "deliveries")}
    used |= {f"silence.field.{field}" for field in (*MATCHERS, "duration", "comment")}
    used |= {f"delivery.{state}" for state in ("pending", "delivered", "failed")}
    used |= {f"settings.theme.{choice}" for choice in THEME_CHOICES}
    used |= {f"resources.page.{key}" for key, _, _ in RESOURCE_PAGES}
    used |= {
        f"column.{c}" for table in (ObjectiveTableModel, TargetTableModel) for c in table.columns
    }
    used |= {f"column.{c}" for _, table, _ in RESOURCE_PAGES for c in table.columns}
    used |= {f"overview.card.{card}" for card in OVERVIEW_CARDS}
    used |= {f"overview.node.{state}" for state in NODE_STATES}
    used |= {f"overview.pod.{state}" for state in POD_STATES}
    # How each kind of cluster error is put in words (a class attribute, maybe inherited).
    used |= {error.explanation for error in _subclasses(kube_errors.KubeError)}
    return used


def _subclasses(cls: type) -> set[type]:
    found = {cls}
    for sub in cls.__subclasses__():
        found |= _subclasses(sub)
    return found


def test_catalogs_are_complete_and_keep_every_placeholder() -> None:
    assert catalog_problems() == []


def test_every_message_the_code_uses_is_in_the_catalogs() -> None:
    known = set(_catalog("en"))
    used = used_message_ids()
    assert len(used) > 40
    assert sorted(used - known - plural_ids()) == []
    assert sorted(known - used) == [], "catalog entries nothing uses"


def test_a_dropped_placeholder_or_missing_message_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "i18n"
    shutil.copytree(i18n.catalog_dir(), broken)
    ja = broken / "ja" / "atlhyper.po"
    text = ja.read_text()
    text = text.replace("Pod {pod} が退避されました: {detail}", "Pod が退避されました: {detail}")
    text = text.replace('msgid "tab.pods"\nmsgstr "Pod"\n', "")
    ja.write_text(text)
    problems = catalog_problems(broken)
    assert "ja: missing tab.pods" in problems
    assert "ja: anomaly.evicted has ['detail'], expected ['detail', 'pod']" in problems


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_messages_render_with_plurals_numbers_and_durations(language: str) -> None:
    one = i18n.plural(language, "anomaly.group", "anomaly.group.plural", 1, detail="x")
    many = i18n.plural(language, "anomaly.group", "anomaly.group.plural", 50, detail="x")
    assert "50" in many and "1" in one
    if language == "en":
        assert one.endswith("1 pod affected") and many.endswith("50 pods affected")
    assert i18n.format_number(1234567.5, language) in ("1,234,567.5",)
    assert (
        i18n.format_duration(3 * 3600, language)
        == {"en": "3 hours", "zh": "3小时", "ja": "3 時間"}[language]
    )


def test_a_broken_translation_still_shows_its_values() -> None:
    assert i18n._format("{pod} died", {"node": "n1"}) == "{pod} died [node=n1]"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_counts_take_the_plural_form_of_the_language(language: str) -> None:
    one = i18n.message(language, "operation.scaled", target="Deployment a/b", was="2", count=1)
    four = i18n.message(language, "operation.scaled", target="Deployment a/b", was="2", count=4)
    if language == "en":
        assert one == "Deployment a/b scaled from 2 to 1 replica"
        assert four == "Deployment a/b scaled from 2 to 4 replicas"
    else:  # one form: only the number changes
        assert one.replace("1", "4") == four
    # A plural message without a count (not known yet) takes the general form, never its id.
    unknown = i18n.message(language, "preview.scale", target="t", current="1", replicas="?")
    assert "preview.scale" not in unknown and "?" in unknown


def test_every_cluster_error_is_explained_in_each_language() -> None:
    server_words = 'deployments.apps "web" is forbidden: User "looker" cannot patch'
    for language in i18n.LANGUAGES:
        forbidden = kube_errors.status_error(403, {"message": server_words})
        text = i18n.render(language, forbidden.said())
        assert server_words in text  # the server's message verbatim
        assert text != server_words  # and the engine's sentence around it
        if language != "en":
            assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text), text
        unreachable = kube_errors.Unreachable("cannot reach https://10.0.0.1:6443: refused")
        assert "https://10.0.0.1:6443" in i18n.render(language, unreachable.said())
    assert str(forbidden) == server_words  # logs keep the engine's English


def test_a_clusters_last_error_is_shown_in_the_ui_language() -> None:
    health = ClusterHealth("prod")
    health.setup_failed(kube_errors.Unreachable("cannot reach https://10.0.0.1:6443: refused"))
    snapshot = health.snapshot
    assert snapshot.last_error == "cannot reach https://10.0.0.1:6443: refused"  # for logs
    shown = snapshot.error_text("zh")
    assert shown is not None and shown.endswith(snapshot.last_error)
    assert shown.startswith(i18n.message("zh", "error.unreachable", detail="").rstrip())


def test_what_rbac_hides_is_said_in_the_ui_language() -> None:
    from headless_agent.kube.cluster_source import _namespace_note
    from headless_agent.kube.resources import WATCHED_KINDS

    pods = next(kind for kind in WATCHED_KINDS if kind.kind == "Pod")
    health = ClusterHealth("prod")
    health.hidden("Pod", *_namespace_note(pods, ["team-a", "team-b"], ["ops"], False))
    [english] = health.snapshot.hidden
    assert english == (
        "pods: cluster-wide listing is forbidden; showing namespaces team-a, team-b; "
        "forbidden in 1 other namespace; other namespaces cannot be discovered "
        "(listing namespaces is forbidden)"
    )
    assert health.snapshot.hidden_texts("en") == (english,)
    [japanese] = health.snapshot.hidden_texts("ja")
    assert "team-a, team-b" in japanese and re.search(r"[\u3040-\u30ff]", japanese)
    # A note given only in words (an agent's relay) is shown as it came.
    health.hidden("Node", "nodes: hidden")
    assert health.snapshot.hidden_texts("zh")[0] == "nodes: hidden"
