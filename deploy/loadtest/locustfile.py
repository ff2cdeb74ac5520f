"""Load tests for Finora GraphQL with locust: realistic sessions, four profiles.

    LOAD_PROFILE=load locust -f deploy/loadtest/locustfile.py --host http://127.0.0.1:8000 \\
        --headless --csv results/load --html results/load.html
    python deploy/loadtest/report.py results/load_stats.csv     # p95/p99 per operation vs the seed's targets

Profiles (LOAD_PROFILE): baseline (5 users, 2 min), load (50 users, 5 min), stress (steps of 50 up
to 500, 1 min each), spike (10 users, then 200 at once for 2 min, then 10 again), smoke (3 users,
20 s; CI). LOAD_SCALE multiplies the user counts, LOAD_TIME the durations (0.1 = a tenth).

A session (one simulated person): registers and signs in once (on_start), then mostly reads the
dashboard (walletSummary, accounts, unreadCount) and pages through transactions, sometimes writes
a transaction, now and then holds a subscription open for a few seconds; a health check runs
beside it as a load balancer's would. With LOADTEST_ADMIN_EMAIL/LOADTEST_ADMIN_PASSWORD, an admin
session runs too; with LOADTEST_AI=1, the assistant's chat (when the API has it).

The target must let one address register and sign in many times: for the run, raise
RATE_LIMIT_REGISTER_PER_IP, RATE_LIMIT_LOGIN_PER_IP (and the per-email limits) on the server.
Each request is named after its operation, so the report matches the seed's per-operation targets.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import secrets
import time
from typing import Any

from locust import HttpUser, LoadTestShape, between, events, task

PASSWORD = "load test pass phrase"
TODAY = dt.date.today()
MONTH_START = TODAY.replace(day=1)

REGISTER = "mutation Register($input: RegisterInput!) { register(input: $input) { user { id } errors { code } } }"
LOGIN = "mutation Login($input: LoginInput!) { login(input: $input) { accessToken errors { code } } }"
CREATE_ACCOUNT = ("mutation CreateAccount($input: CreateAccountInput!) { createAccount(input: $input) "
                  "{ account { id } errors { code } } }")
WALLET_SUMMARY = """query WalletSummary($from: Date!, $to: Date!) { walletSummary(from: $from, to: $to) {
  currency totalBalance totalIncome totalExpenses net savingsRate complete
  topCategories { category { id } name amount } } }"""
ACCOUNTS = "query Accounts { accounts { id name currency currentBalance } }"
UNREAD = "query UnreadCount { unreadCount }"
TRANSACTIONS = """query Transactions($after: String) { transactions(first: 50, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { node { id date amount merchant description account { id name } category { id name } } } } }"""
CREATE_TXNS = ("mutation CreateTransactions($items: [CreateTransactionInput!]!) { createTransactions(input: {transactions: $items}) "
               "{ transactions { id } errors { code } } }")
CREATE_TXN = ("mutation CreateTransaction($input: CreateTransactionInput!) { createTransaction(input: $input) "
              "{ transaction { id } errors { code } } }")
ADMIN = "query AdminDeadLetters { deadLetteredJobs }"
START_CONVERSATION = ("mutation StartConversation($input: StartConversationInput!) { startConversation(input: $input) "
                      "{ conversation { id } errors { code } } }")
CHAT = ("mutation AssistantChat($input: SendAssistantMessageInput!) { sendAssistantMessage(input: $input) "
        "{ reply { id status } errors { code } } }")
MERCHANTS = ["Fresh Market", "Corner Shop", "City Transit", "Cafe Nero", "Netflix", "Pharmacy", "Bookshop"]

# The seed's p95 targets (ms) per operation.
TARGETS_MS = {"health": 50, "WalletSummary": 100, "Transactions": 150, "AssistantChat": 2000, "AdminDeadLetters": 200}


class GraphQLClient(HttpUser):
    abstract = True
    token: str | None = None

    def gql(self, name: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any] | None:
        headers = {"accept": "application/graphql-response+json", "content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        with self.client.post("/graphql", data=json.dumps({"query": query, "variables": variables or {}}),
                              headers=headers, name=name, catch_response=True) as response:
            try:
                body = response.json()
            except ValueError:
                response.failure(f"HTTP {response.status_code}: not JSON")
                return None
            if response.status_code != 200 or body.get("errors"):
                response.failure(f"HTTP {response.status_code}: {str(body.get('errors'))[:200]}")
                return None
            data = body.get("data") or {}
            payload = next(iter(data.values()), None) if data else None
            if isinstance(payload, dict) and payload.get("errors"):
                response.failure(f"{name}: {payload['errors']}")
                return None
            response.success()
            return data

    def sign_in(self, email: str, password: str, *, register: bool) -> bool:
        if register and self.gql("Register", REGISTER, {"input": {"email": email, "password": password,
                                                                 "name": "Load Tester"}}) is None:
            return False
        data = self.gql("Login", LOGIN, {"input": {"email": email, "password": password}})
        if data is None:
            return False
        self.token = data["login"]["accessToken"]
        return True


class Person(GraphQLClient):
    """Someone using the app: dashboard, lists, a write now and then, a live subscription."""

    wait_time = between(1, 4)
    weight = 20

    def on_start(self) -> None:
        self.email = f"load-{secrets.token_hex(6)}@example.com"
        self.account_id: str | None = None
        self.cursor: str | None = None
        if not self.sign_in(self.email, PASSWORD, register=True):
            return
        data = self.gql("CreateAccount", CREATE_ACCOUNT, {"input": {"name": "Checking", "type": "CHECKING",
                                                                    "currency": "USD", "openingBalance": "2500.00"}})
        if data:
            self.account_id = data["createAccount"]["account"]["id"]
            # A little history in one request, so the lists and summaries have something to show.
            self.gql("CreateTransactions", CREATE_TXNS, {"items": [self.new_transaction() for _ in range(30)]})

    def new_transaction(self) -> dict[str, Any]:
        day = TODAY - dt.timedelta(days=random.randrange(0, 60))
        amount = f"-{random.randrange(100, 9000) / 100:.2f}" if random.random() < 0.9 else f"{random.randrange(1000, 400000) / 100:.2f}"
        return {"accountId": self.account_id, "date": day.isoformat(), "amount": amount,
                "merchant": random.choice(MERCHANTS), "description": "load test"}

    def add_transaction(self) -> None:
        if self.account_id:
            self.gql("CreateTransaction", CREATE_TXN, {"input": self.new_transaction()})

    @task(6)
    def dashboard(self) -> None:
        if not self.token:
            return
        self.gql("WalletSummary", WALLET_SUMMARY, {"from": MONTH_START.isoformat(), "to": TODAY.isoformat()})
        self.gql("Accounts", ACCOUNTS)
        self.gql("UnreadCount", UNREAD)

    @task(5)
    def transactions_page(self) -> None:
        if not self.token:
            return
        data = self.gql("Transactions", TRANSACTIONS, {"after": self.cursor})
        if data:
            info = data["transactions"]["pageInfo"]
            self.cursor = info["endCursor"] if info["hasNextPage"] and random.random() < 0.5 else None

    @task(1)
    def write(self) -> None:
        self.add_transaction()

    @task(1)
    def live_updates(self) -> None:
        """Open a graphql-transport-ws subscription, hold it a few seconds, close it."""
        if not self.token:
            return
        from websockets.sync.client import connect

        url = self.host.replace("http://", "ws://").replace("https://", "wss://") + "/graphql"
        started = time.perf_counter()
        error: Exception | None = None
        try:
            with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10) as socket:
                socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}}))
                ack = json.loads(socket.recv(timeout=10))
                if ack.get("type") != "connection_ack":
                    raise RuntimeError(f"no ack: {ack}")
                socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                    "query": "subscription { walletChanged { __typename } }"}}))
                try:
                    socket.recv(timeout=random.uniform(2, 5))  # events, if a write happens meanwhile
                except TimeoutError:
                    pass
                socket.send(json.dumps({"id": "1", "type": "complete"}))
        except Exception as exc:  # noqa: BLE001 - reported to locust as a failure
            error = exc
        events.request.fire(request_type="WS", name="Subscription", response_time=(time.perf_counter() - started) * 1000,
                            response_length=0, exception=error, context={})

    @task(2)
    def health(self) -> None:
        self.client.get("/health", name="health")


class Admin(GraphQLClient):
    """An operator's console (only with LOADTEST_ADMIN_EMAIL and LOADTEST_ADMIN_PASSWORD)."""

    wait_time = between(2, 6)
    weight = 1
    fixed_count = 1

    def on_start(self) -> None:
        email, password = os.environ.get("LOADTEST_ADMIN_EMAIL"), os.environ.get("LOADTEST_ADMIN_PASSWORD")
        if email and password:
            self.sign_in(email, password, register=False)

    @task
    def admin_view(self) -> None:
        if self.token:
            self.gql("AdminDeadLetters", ADMIN)


class Chatter(GraphQLClient):
    """The assistant's chat (only with LOADTEST_AI=1, when the API has one)."""

    wait_time = between(5, 15)
    weight = 1
    fixed_count = 1

    def on_start(self) -> None:
        if os.environ.get("LOADTEST_AI") == "1":
            self.sign_in(f"chat-{secrets.token_hex(6)}@example.com", PASSWORD, register=True)
            started = self.gql("StartConversation", START_CONVERSATION, {"input": {"title": "Load test"}}) if self.token else None
            self.conversation_id = started["startConversation"]["conversation"]["id"] if started else None

    @task
    def chat(self) -> None:
        if self.token and getattr(self, "conversation_id", None):
            self.gql("AssistantChat", CHAT, {"input": {"conversationId": self.conversation_id,
                                                       "content": "How much did I spend on groceries this month?"}})


def _enabled_user_classes() -> list[type]:
    classes: list[type] = [Person]
    if os.environ.get("LOADTEST_ADMIN_EMAIL"):
        classes.append(Admin)
    if os.environ.get("LOADTEST_AI") == "1":
        classes.append(Chatter)
    return classes


# (duration in seconds, users, spawn rate) stages per profile.
PROFILES: dict[str, list[tuple[float, int, float]]] = {
    "smoke": [(20, 3, 3)],
    "baseline": [(120, 5, 1)],
    "load": [(60, 50, 2), (300, 50, 2)],
    "stress": [(60 * (i + 1), 50 * (i + 1), 10) for i in range(10)],
    "spike": [(60, 10, 5), (180, 200, 200), (240, 10, 50)],
}


class Profile(LoadTestShape):
    """The profile named by LOAD_PROFILE (default baseline), scaled by LOAD_SCALE and LOAD_TIME."""

    def __init__(self) -> None:
        super().__init__()
        name = os.environ.get("LOAD_PROFILE", "baseline")
        if name not in PROFILES:
            raise SystemExit(f"LOAD_PROFILE must be one of {', '.join(PROFILES)}")
        scale, stretch = float(os.environ.get("LOAD_SCALE", "1")), float(os.environ.get("LOAD_TIME", "1"))
        self.stages = [(end * stretch, max(1, round(users * scale)), rate) for end, users, rate in PROFILES[name]]

    def tick(self) -> tuple[int, float, list[type]] | None:
        elapsed = self.get_run_time()
        for end, users, rate in self.stages:
            if elapsed < end:
                return users, rate, _enabled_user_classes()
        return None
