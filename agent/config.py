"""Typed settings: environment `OPSLOOP_*`, an optional `opsloop.toml`, and sandbox defaults."""

from __future__ import annotations

import os
import pwd
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, InitSettingsSource, SettingsConfigDict
from typing_extensions import TypedDict  # pydantic validates typing.TypedDict only on 3.12+

from opsloop.agent.sandbox_state import env_world, sandbox_values
from opsloop.agent.server.retention_settings import Retention
from opsloop.tools.backends.prometheus.modelmon import ModelMetrics

CONFIG_FILE_ENV = "OPSLOOP_CONFIG"
MASK = "********"


def default_home() -> Path:
    """Return the data directory used when `OPSLOOP_HOME` is unset."""
    return Path(os.environ.get("OPSLOOP_HOME") or Path.home() / ".opsloop")


def current_user() -> str:
    """Return the account of the process's real user id: the CLI's identity for approvals.

    Not $USER, $LOGNAME or OPSLOOP_USER: anyone can set those, which would make the approval
    policy advisory on the CLI.
    """
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # no passwd entry in some containers
        return f"uid-{uid}"


class LlmPrice(TypedDict):
    """What a model costs, in USD per million tokens."""

    input_per_mtok: Annotated[float, Field(ge=0)]
    output_per_mtok: Annotated[float, Field(ge=0)]


class Settings(BaseSettings):
    """Effective opsloop configuration. Each field maps to `OPSLOOP_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="OPSLOOP_", extra="ignore", validate_default=True)

    home: Path = Field(default_factory=default_home, description="Data directory.")
    user: str = Field(default_factory=current_user, description="Who is asking (CLI).")

    # Prometheus
    prometheus_url: str = Field("http://127.0.0.1:9090", description="Prometheus HTTP API URL.")
    prometheus_bearer_token: SecretStr | None = Field(None, description="Bearer token.")
    prometheus_username: str | None = Field(None, description="Basic-auth user.")
    prometheus_password: SecretStr | None = Field(None, description="Basic-auth password.")
    prometheus_headers: dict[str, str] = Field(
        default_factory=dict, description="Extra HTTP headers, e.g. X-Scope-OrgID (JSON in env)."
    )
    prometheus_verify_tls: bool = Field(True, description="Verify the server certificate.")
    prometheus_ca_bundle: Path | None = Field(None, description="CA bundle for TLS verification.")
    prometheus_timeout: float = Field(10.0, gt=0, description="Seconds per Prometheus request.")
    service_label: str = Field("service", description="Label that names a service.")
    rate_window: str = Field("5m", description="Range used inside rate() and increase().")

    # Other backends (used by later tools; named here so config show is complete)
    alertmanager_url: str = Field("http://127.0.0.1:9093", description="Alertmanager URL.")
    grafana_url: str | None = Field(None, description="Grafana URL for evidence links.")
    grafana_datasource: str = Field("prometheus", description="Grafana datasource uid.")
    mlflow_tracking_uri: str | None = Field(None, description="MLflow tracking/registry URI.")
    mlflow_ui_url: str | None = Field(
        None, description="MLflow UI for evidence links (default: the tracking URI if HTTP)."
    )
    logs_backend: Literal["local", "loki", "elasticsearch"] = Field(
        "local", description="Log backend."
    )
    logs_url: str | None = Field(None, description="Loki or Elasticsearch URL.")
    logs_paths: list[str] = Field(default_factory=list, description="Files for the local store.")
    logs_index: str = Field("logs-*", description="Elasticsearch/OpenSearch index pattern.")
    logs_tenant: str | None = Field(None, description="Loki tenant (X-Scope-OrgID).")
    logs_bearer_token: SecretStr | None = Field(None, description="Bearer token for Loki/ES.")
    logs_username: str | None = Field(None, description="Basic-auth user for Loki/ES.")
    logs_password: SecretStr | None = Field(None, description="Basic-auth password for Loki/ES.")
    logs_service_label: str = Field("service", description="Loki label naming the service.")
    grafana_logs_datasource: str = Field("loki", description="Grafana Loki datasource uid.")
    changelog_path: Path | None = Field(
        None, description="Change-event log (SQLite); default $OPSLOOP_HOME/state/changes.sqlite."
    )
    feature_log_dir: Path | None = Field(
        None, description="Model feature logs: <model>.reference.csv and live <model>.csv."
    )
    model_metrics: ModelMetrics = Field(
        default_factory=ModelMetrics,
        description="The model monitor's metric names ([model_metrics] in opsloop.toml).",
    )
    topology: dict[str, list[str]] = Field(
        default_factory=dict, description="Service → services it calls (JSON in env)."
    )
    owners: dict[str, str] = Field(
        default_factory=dict, description="Service → owning team, for escalations (JSON in env)."
    )

    # LLM (any OpenAI-compatible endpoint); unset base URL and key means no LLM
    llm_base_url: str | None = Field(None, description="OpenAI-compatible base URL (…/v1).")
    llm_model: str = Field("gpt-4o-mini", description="Model name sent to the endpoint.")
    judge_model: str | None = Field(
        None, description="Model that grades answers in `opsloop eval` (same endpoint as the LLM)."
    )
    llm_api_key: SecretStr | None = Field(None, description="API key for the endpoint.")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds per LLM request.")
    llm_max_tokens: int = Field(1024, gt=0, description="Completion token cap.")
    llm_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    llm_max_retries: int = Field(2, ge=0, description="Retries on transient LLM errors.")
    llm_context_tokens: int = Field(
        6000, ge=1000, description="Prompt budget; the oldest tool results are trimmed past it."
    )
    llm_turn_budget: float = Field(
        150.0, gt=0, description="Seconds of LLM requests per turn, retries and steps included."
    )
    llm_prices: dict[str, LlmPrice] = Field(
        default_factory=dict,
        description="Model → {input_per_mtok, output_per_mtok} in USD per 1M tokens (JSON in env).",
    )

    # Self-monitoring: answers exported as OTLP traces (metrics are on `opsloop serve`'s /metrics)
    otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP collector base URL, e.g. http://collector:4318 (unset: off)."
    )
    otlp_headers: dict[str, str] = Field(
        default_factory=dict, description="Extra headers for the collector, e.g. auth (JSON)."
    )

    # Slack and HTTP intake
    slack_bot_token: SecretStr | None = Field(None, description="Slack bot token (xoxb-…).")
    slack_signing_secret: SecretStr | None = Field(None, description="Slack signing secret.")
    slack_app_token: SecretStr | None = Field(None, description="Slack app token (Socket Mode).")
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL.")
    slack_channel: str | None = Field(None, description="Channel for alert reports.")
    webhook_token: SecretStr | None = Field(None, description="Bearer token for /alerts/*.")
    read_token: SecretStr | None = Field(
        None, description="Bearer token for GET /incidents* (and /metrics with metrics_auth)."
    )
    metrics_auth: bool = Field(False, description="Require the read token on GET /metrics too.")
    webhook_username: str | None = Field(None, description="Basic-auth user for /alerts/*.")
    webhook_password: SecretStr | None = Field(None, description="Basic-auth password.")
    webhook_max_body_bytes: int = Field(
        1_048_576, gt=0, description="Largest webhook body accepted (bytes)."
    )
    pagerduty_webhook_secrets: SecretStr | None = Field(
        None, description="PagerDuty V3 webhook signing secret(s), comma-separated when rotating."
    )
    pagerduty_api_token: SecretStr | None = Field(
        None, description="PagerDuty REST API key: reports are added to incidents as notes."
    )
    pagerduty_from_email: str | None = Field(
        None, description="Email of a PagerDuty user, sent as From when adding notes."
    )
    pagerduty_api_url: str = Field(
        "https://api.pagerduty.com", description="PagerDuty REST API base URL (https only)."
    )
    pagerduty_ca_bundle: Path | None = Field(
        None, description="CA bundle to verify the PagerDuty API (a proxy or a test stand-in)."
    )
    database_url: str | None = Field(
        None,
        description="PostgreSQL URL shared by `opsloop serve` replicas (incident queue, graph"
        " checkpoints, Slack state); default SQLite files in $OPSLOOP_HOME/state.",
    )
    incident_store_path: Path | None = Field(
        None, description="Incident store; default $OPSLOOP_HOME/state/incidents.sqlite."
    )
    correlate_window_s: float = Field(
        300.0, ge=0, description="Seconds in which alerts on connected services join one incident."
    )
    investigation_max_attempts: int = Field(
        3, ge=1, description="Attempts before an investigation is marked failed."
    )
    investigation_lease_s: float = Field(
        600.0, gt=0, description="Worker lease on an investigation, renewed every lease/3."
    )
    investigation_deadline_s: float = Field(
        360.0,
        gt=0,
        description="Seconds an investigation attempt may run before its worker gives it up.",
    )
    registry_poll_s: float = Field(
        60.0, gt=0, description="How often `opsloop serve` checks registry aliases for moves."
    )
    serve_host: str = Field("127.0.0.1", description="Where `opsloop serve` listens.")
    serve_port: int = Field(8080, ge=0, le=65535, description="Port for `opsloop serve`.")
    retention: Retention = Field(
        default_factory=Retention, description="What `opsloop serve` prunes, and after how long"
        " (the retention table of opsloop.toml; JSON in env).",
    )  # fmt: skip

    # Incident memory
    memory_url: str | None = Field(
        None, description="Chroma server URL; default a local store in $OPSLOOP_HOME/memory."
    )
    memory_embedding: str = Field(
        "hashing",
        description=(
            "hashing (offline), minilm (offline, needs `make minilm`), "
            "sentence-transformers:MODEL (local) or openai:MODEL."
        ),
    )
    memory_threshold: float = Field(
        0.27, ge=0, le=1, description="Cosine similarity below which an incident is no match; "
        "unset: 0.27 with hashing, 0.5 with minilm.",
    )  # fmt: skip

    # Write actions: approvals, retraining, promotion
    policy: dict[str, Any] = Field(
        default_factory=dict,
        description="Approval roles: [policy.roles.NAME] actions/models, [policy.users] (JSON).",
    )
    people: dict[str, Any] = Field(
        default_factory=dict,
        description="Per-person API tokens for `opsloop serve`: [people.NAME] token_sha256 (JSON).",
    )
    mcp_servers: list[dict[str, Any]] = Field(
        default_factory=list,
        description="MCP servers whose tools opsloop may call: [[mcp_servers]] name, command/args/"
        "env or url/headers, allow (JSON).",
    )
    console_secret: SecretStr | None = Field(
        None, description="Signs console sessions; set the same on every replica."
    )
    console_url: str | None = Field(
        None, description="The console's public base URL, for links in Slack reports."
    )
    console_user_header: str | None = Field(
        None, description="Trusted reverse-proxy header naming the signed-in user (SSO)."
    )
    server_url: str | None = Field(
        None, description="An `opsloop serve` to send `opsloop approve` through (with token)."
    )
    token: SecretStr | None = Field(
        None, description="Your personal token for server_url (`opsloop token new NAME`)."
    )
    approval_ttl: float = Field(3600.0, gt=0, description="Seconds an approval request is valid.")
    retrain_backend: Literal["local", "airflow", "argo", "kubeflow"] = Field(
        "local", description="Where retraining runs: a local command or an orchestrator."
    )
    retrain_command: list[str] = Field(
        default_factory=list,
        description="Local training command; {model} {window} {tracking_uri} {requested_by}.",
    )
    retrain_url: str | None = Field(None, description="Airflow/Argo/Kubeflow API base URL.")
    retrain_target: str | None = Field(
        None, description="DAG id, WorkflowTemplate, or Kubeflow PIPELINE_ID[:VERSION_ID]."
    )
    retrain_namespace: str = Field("default", description="Argo namespace.")
    retrain_username: str | None = Field(None, description="Orchestrator basic-auth user.")
    retrain_password: SecretStr | None = Field(None, description="Orchestrator password.")
    retrain_bearer_token: SecretStr | None = Field(None, description="Orchestrator token.")
    promotion_metric: str = Field("auc", description="Metric the promotion gate compares.")
    promotion_margin: float = Field(
        0.01, ge=0, description="How much the challenger must beat the champion by."
    )

    # Agent behaviour
    max_steps: int = Field(8, ge=1, description="Planner steps before the graph must answer.")
    tool_timeout: float = Field(30.0, gt=0, description="Default seconds per tool call.")
    turn_deadline_s: float = Field(
        300.0, gt=0, description="Seconds a question or investigation may spend in tools."
    )
    tool_output_chars: int = Field(4000, ge=200, description="Default tool output budget.")
    timezone: str | None = Field(None, description="IANA zone for 'since 14:00' (default local).")

    @field_validator(
        "llm_base_url",
        "grafana_url",
        "mlflow_tracking_uri",
        "mlflow_ui_url",
        "memory_url",
        "logs_url",
        "retrain_url",
        "otlp_endpoint",
        "server_url",
        "console_url",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        """Order: explicit arguments, environment, opsloop.toml, running sandbox, defaults."""
        toml = _toml_values()
        file_values = InitSettingsSource(settings_cls, init_kwargs=toml)
        own = {**toml, **env_world(), **init_settings.init_kwargs}
        sandbox = sandbox_values(default_home(), set(cls.model_fields), own)
        sandbox_source = InitSettingsSource(settings_cls, init_kwargs=sandbox)
        return init_settings, env_settings, file_values, sandbox_source

    @property
    def llm_enabled(self) -> bool:
        """Return True when an LLM endpoint is configured."""
        return bool(self.llm_base_url or self.llm_api_key)

    @property
    def state_dir(self) -> Path:
        """Return the directory for checkpoints, audit log and answer records."""
        path = self.home / "state"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def masked(self) -> dict[str, Any]:
        """Return the configuration as plain data with every secret masked."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = MASK
            elif name.endswith("headers") and isinstance(value, dict):
                value = {k: MASK for k in value}
            elif name == "mcp_servers":  # their env and headers carry other systems' tokens
                secret = ("env", "headers")
                value = [
                    {k: {n: MASK for n in v} if k in secret else v for k, v in entry.items()}
                    for entry in value
                ]
            elif name.endswith(("_url", "_uri")) and isinstance(value, str):
                value = mask_url(value)
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, BaseModel):  # a [section] of its own: its fields
                value = value.model_dump()
            out[name] = value
        return out


def mask_url(url: str) -> str:
    """Hide a password embedded in a URL."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:{MASK}@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def config_file() -> Path | None:
    """Return the opsloop.toml in use: $OPSLOOP_CONFIG, ./opsloop.toml or $OPSLOOP_HOME/."""
    explicit = os.environ.get(CONFIG_FILE_ENV)
    if explicit:
        return Path(explicit)
    for candidate in (Path.cwd() / "opsloop.toml", default_home() / "opsloop.toml"):
        if candidate.is_file():
            return candidate
    return None


def _toml_values() -> dict[str, Any]:
    path = config_file()
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    return _flatten(data)


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Turn `[llm] base_url = …` into `llm_base_url`; `[prometheus] headers` stays a dict."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}".replace("-", "_")
        if isinstance(value, dict) and name not in Settings.model_fields:
            flat.update(_flatten(value, f"{name}_"))
        else:
            flat[name] = value
    return flat


class ConfigError(RuntimeError):
    """Raised when configuration cannot be loaded."""
