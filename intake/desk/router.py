"""The staff desk under ``/staff``: server-rendered pages and plain HTML forms (POST, then redirect).

Every page checks the desk session first; every POST checks the session's CSRF token; every refusal (wrong
password, expired session, a ticket of another window, a stale form) gets a clear page in Japanese and an audit
row, and changes nothing.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from intake.app import Resources, get_resources
from intake.db import run_db
from intake.desk import accounts, auth
from intake.desk.render import DONE_MESSAGES, HERE, JST, make_templates
from intake.knowledge.schema import Pack
from routing import audit, desk, metrics
from routing.desk import Actor, DeskError, Scope
from routing.models import Role, StaffUser

log = logging.getLogger("intake.desk")
router = APIRouter(prefix="/staff", include_in_schema=False)
templates = make_templates()
T = TypeVar("T")

ACTIONS = ("accept", "assign", "transfer", "escalate", "note", "reply", "close")
DONE_OF = {
    "accept": "accepted",
    "assign": "assigned",
    "transfer": "transferred",
    "escalate": "escalated",
    "note": "noted",
    "reply": "replied",
    "close": "closed",
}


# --- helpers -------------------------------------------------------------------------------------------------


def pack_of(res: Resources) -> Pack | None:
    holder = res.knowledge
    if holder is None:
        return None
    pack: Pack = holder.current.pack
    return pack


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _page(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def refusal(
    request: Request,
    *,
    status: int,
    title: str,
    message: str,
    actor: Actor | None = None,
    session: auth.DeskSession | None = None,
) -> HTMLResponse:
    return _page(
        request,
        "error.html",
        {"title": title, "message": message, "actor": actor, "session": session, "pack": None},
        status_code=status,
    )


class Ctx:
    """What a logged-in page has: resources, the desk session and the acting staff member."""

    def __init__(self, res: Resources, session: auth.DeskSession, actor: Actor) -> None:
        self.res = res
        self.session = session
        self.actor = actor

    @property
    def pack(self) -> Pack | None:
        return pack_of(self.res)

    def base(self, **extra: Any) -> dict[str, Any]:
        pack = self.pack
        return {
            "actor": self.actor,
            "session": self.session,
            "pack": pack,
            "my_windows": desk.windows_of(pack, sorted(self.actor.window_ids)),
            **extra,
        }


def _actor_of(session: Session, staff_id: int) -> Actor | None:
    staff = session.get(StaffUser, staff_id)
    if staff is None or not staff.active:
        return None
    return Actor.of(staff)


async def _refused(res: Resources, *, action: str, actor: Actor | None, detail: dict[str, Any]) -> None:
    await run_in_threadpool(
        audit.record_refusal,
        res.sessions,
        action=action,
        staff_id=actor.staff_id if actor else None,
        login=actor.login if actor else None,
        detail=detail,
    )


async def login_required(request: Request) -> Ctx:
    """The logged-in staff member, or a redirect to the login page saying why (an expired session is audited)."""
    res = get_resources(request)
    session = await auth.load_session(res, request)
    if session is None:
        reason = "expired" if auth.had_cookie(request) else "login"
        if reason == "expired":
            await _refused(res, action="session_expired", actor=None, detail={"path": request.url.path})
        raise HTTPException(status_code=303, headers={"Location": f"/staff/login?reason={reason}"})
    actor = await run_db(res.sessions, lambda s: _actor_of(s, session.staff_id))
    if actor is None:
        await res.store.delete(session.key)
        await _refused(res, action="session_inactive", actor=None, detail={"staff_id": session.staff_id})
        raise HTTPException(status_code=303, headers={"Location": "/staff/login?reason=inactive"})
    return Ctx(res, session, actor)


async def _form_checked(request: Request, ctx: Ctx) -> dict[str, str] | HTMLResponse:
    """The POSTed form when its CSRF token is the session's; otherwise a refusal page (audited)."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if not auth.same(values.get("csrf"), ctx.session.csrf):
        await _refused(ctx.res, action="csrf", actor=ctx.actor, detail={"path": request.url.path})
        return refusal(
            request,
            status=403,
            title="操作を受け付けられませんでした",
            message="フォームの有効期限が切れたか、別の画面から送られました。ページを開き直してから、もう一度操作してください。",
            actor=ctx.actor,
            session=ctx.session,
        )
    return values


def _desk_refusal(request: Request, ctx: Ctx, error: DeskError) -> HTMLResponse:
    titles = {
        403: "権限がありません",
        404: "見つかりません",
        409: "この操作はできません",
        422: "入力を確かめてください",
    }
    return refusal(
        request,
        status=error.status,
        title=titles.get(error.status, "操作できませんでした"),
        message=error.message,
        actor=ctx.actor,
        session=ctx.session,
    )


async def _attempt(ctx: Ctx, action: str, fn: Callable[[Session], T], *, number: str | None = None) -> T:
    return await run_in_threadpool(desk.attempt, ctx.res.sessions, ctx.actor, action, fn, number=number)


def _no_pack(request: Request, ctx: Ctx) -> HTMLResponse:
    return refusal(
        request,
        status=503,
        title="知識パックが読み込まれていません",
        message="窓口の情報が読み込まれていないため、この操作はできません。管理者に連絡してください。",
        actor=ctx.actor,
        session=ctx.session,
    )


# --- static --------------------------------------------------------------------------------------------------


@router.get("/static/desk.css")
async def stylesheet() -> FileResponse:
    return FileResponse(
        HERE / "static" / "desk.css", media_type="text/css", headers={"Cache-Control": "max-age=300"}
    )


# --- login ---------------------------------------------------------------------------------------------------

LOGIN_REASONS = {
    "expired": "一定時間操作がなかったため、ログインの有効期限が切れました。もう一度ログインしてください。",
    "inactive": "このアカウントは使えなくなっています。管理者に確認してください。",
    "logout": "ログアウトしました。",
}


def _login_page(request: Request, *, error: str | None, status: int = 200, login: str = "") -> HTMLResponse:
    token = auth.new_login_csrf()
    response = _page(
        request,
        "login.html",
        {
            "csrf": token,
            "error": error,
            "notice": LOGIN_REASONS.get(request.query_params.get("reason", "")),
            "login_value": login,
            "actor": None,
            "pack": None,
        },
        status_code=status,
    )
    auth.set_cookie(response, request, auth.LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.get("/login", response_model=None)
async def login_form(request: Request) -> HTMLResponse | RedirectResponse:
    res = get_resources(request)
    if await auth.load_session(res, request) is not None:
        return _redirect("/staff/inbox")
    return _login_page(request, error=None)


@router.post("/login", response_model=None)
async def login_submit(request: Request) -> HTMLResponse | RedirectResponse:
    res = get_resources(request)
    form = await request.form()
    login = str(form.get("login") or "").strip()[:64]
    password = str(form.get("password") or "")
    if not auth.same(str(form.get("csrf") or ""), request.cookies.get(auth.LOGIN_CSRF_COOKIE)):
        await _refused(res, action="login", actor=None, detail={"reason": "csrf", "login": login})
        return _login_page(
            request,
            error="ログイン画面の有効期限が切れました。もう一度入力してください。",
            status=403,
            login=login,
        )
    if not login or not password:
        return _login_page(
            request, error="ログインIDとパスワードを入力してください。", status=422, login=login
        )
    if not await auth.login_allowed(res, request, login):
        await _refused(res, action="login", actor=None, detail={"reason": "throttled", "login": login})
        return _login_page(
            request,
            error="ログインの失敗が続いたため、しばらくログインできません。15分ほど待ってからお試しください。",
            status=429,
            login=login,
        )

    def check(session: Session) -> tuple[int, str] | None:
        staff = accounts.authenticate(session, login, password)
        if staff is None:
            return None
        audit.record(session, action="login", staff_id=staff.id, login=staff.login)
        return staff.id, staff.login

    found = await run_db(res.sessions, check)
    if found is None:
        await _refused(res, action="login", actor=None, detail={"reason": "bad_credentials", "login": login})
        return _login_page(request, error="ログインIDかパスワードが違います。", status=401, login=login)
    await auth.login_succeeded(res, login)
    response = _redirect("/staff/inbox")
    await auth.start_session(res, response, request, staff_id=found[0], login=found[1])
    auth.clear_cookie(response, request, auth.LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout", response_model=None)
async def logout(request: Request) -> Response:
    res = get_resources(request)
    session = await auth.load_session(res, request)
    form = await request.form()
    if session is not None and not auth.same(str(form.get("csrf") or ""), session.csrf):
        return refusal(
            request,
            status=403,
            title="操作を受け付けられませんでした",
            message="ページを開き直してから、もう一度ログアウトしてください。",
        )
    response = _redirect("/staff/login?reason=logout")
    if session is not None:
        staff_id, who = session.staff_id, session.login
        await run_db(res.sessions, lambda s: audit.record(s, action="logout", staff_id=staff_id, login=who))
    await auth.end_session(res, session, response, request)
    return response


# --- inbox and ticket ----------------------------------------------------------------------------------------


@router.get("", response_model=None)
@router.get("/", response_model=None)
async def home() -> RedirectResponse:
    return _redirect("/staff/inbox")


@router.get("/inbox", response_model=None)
async def inbox(request: Request, window: str | None = None, closed: int = 0) -> HTMLResponse:
    ctx = await login_required(request)
    pack = ctx.pack
    mine = desk.windows_of(pack, sorted(ctx.actor.window_ids))
    window_id = window or (mine[0][0] if mine else None)
    try:
        tickets = await _attempt(
            ctx,
            "inbox",
            lambda s: desk.inbox(
                s, ctx.actor, pack=pack, scope=Scope.WINDOW, window_id=window_id, include_closed=bool(closed)
            ),
        )
    except DeskError as error:
        return _desk_refusal(request, ctx, error)
    return _page(
        request,
        "inbox.html",
        ctx.base(
            tickets=tickets,
            scope="window",
            window_id=window_id,
            window_name=desk.window_name(pack, window_id or ""),
            closed=bool(closed),
            done=DONE_MESSAGES.get(request.query_params.get("done", "")),
        ),
    )


@router.get("/collaboration", response_model=None)
async def collaboration(request: Request, closed: int = 0) -> HTMLResponse:
    ctx = await login_required(request)
    pack = ctx.pack
    try:
        tickets = await _attempt(
            ctx,
            "inbox",
            lambda s: desk.inbox(
                s, ctx.actor, pack=pack, scope=Scope.COLLABORATION, include_closed=bool(closed)
            ),
        )
    except DeskError as error:
        return _desk_refusal(request, ctx, error)
    return _page(
        request,
        "inbox.html",
        ctx.base(
            tickets=tickets,
            scope="collaboration",
            window_id=None,
            window_name="多機関協働",
            closed=bool(closed),
            done=None,
        ),
    )


@router.get("/tickets/{number}", response_model=None)
async def ticket_page(request: Request, number: str) -> HTMLResponse:
    ctx = await login_required(request)
    pack = ctx.pack
    try:
        detail = await _attempt(
            ctx, "view", lambda s: desk.open_ticket(s, ctx.actor, number, pack=pack), number=number
        )
    except DeskError as error:
        return _desk_refusal(request, ctx, error)
    other_windows = [(w.id, w.name) for w in pack.windows if w.id != detail.window_id] if pack else []
    meeting = None
    if pack is not None:
        collab = pack.municipality.collaboration
        meeting = collab.with_consent if detail.consent is True else collab.without_consent
    return _page(
        request,
        "ticket.html",
        ctx.base(
            t=detail,
            other_windows=other_windows,
            meeting=meeting,
            done=DONE_MESSAGES.get(request.query_params.get("done", "")),
        ),
    )


@router.post("/tickets/{number}/{action}", response_model=None)
async def ticket_action(request: Request, number: str, action: str) -> Response:
    ctx = await login_required(request)
    form = await _form_checked(request, ctx)
    if isinstance(form, HTMLResponse):
        return form
    if action not in ACTIONS:
        return refusal(
            request,
            status=404,
            title="見つかりません",
            message="その操作はありません。",
            actor=ctx.actor,
            session=ctx.session,
        )
    pack = ctx.pack
    if pack is None and action in ("transfer", "escalate"):
        return _no_pack(request, ctx)
    actor = ctx.actor
    work: Callable[[Session], Any]
    if action == "accept":
        work = lambda s: desk.accept(s, actor, number)  # noqa: E731
    elif action == "assign":
        work = lambda s: desk.assign_to_me(s, actor, number)  # noqa: E731
    elif action == "transfer":
        assert pack is not None
        work = lambda s: desk.transfer(  # noqa: E731
            s, actor, number, pack=pack, to_window=form.get("to_window", ""), reason=form.get("reason", "")
        )
    elif action == "escalate":
        assert pack is not None
        work = lambda s: desk.escalate(s, actor, number, pack=pack, reason=form.get("reason", ""))  # noqa: E731
    elif action == "note":
        work = lambda s: desk.add_note(s, actor, number, body=form.get("body", ""))  # noqa: E731
    elif action == "reply":
        work = lambda s: desk.reply(s, actor, number, text=form.get("text", ""))  # noqa: E731
    else:
        work = lambda s: desk.close(s, actor, number, outcome=form.get("outcome", ""))  # noqa: E731
    try:
        await _attempt(ctx, DONE_OF[action], work, number=number)
    except DeskError as error:
        return _desk_refusal(request, ctx, error)
    done = DONE_OF[action]
    if action == "transfer":
        # The case now belongs to another window: back to the inbox it left.
        return _redirect(f"/staff/inbox?done={done}")
    return _redirect(f"/staff/tickets/{quote(number)}?done={done}")


# --- admin ---------------------------------------------------------------------------------------------------


async def admin_required(request: Request, what: str) -> Ctx | HTMLResponse:
    ctx = await login_required(request)
    if not ctx.actor.is_admin:
        await _refused(
            ctx.res, action=f"admin_{what}"[:32], actor=ctx.actor, detail={"path": request.url.path}
        )
        return refusal(
            request,
            status=403,
            title="権限がありません",
            message="このページは管理者だけが使えます。",
            actor=ctx.actor,
            session=ctx.session,
        )
    return ctx


def _staff_rows(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(StaffUser).order_by(StaffUser.login)).all()
    return [
        {
            "id": s.id,
            "login": s.login,
            "display_name": s.display_name,
            "role": s.role.value,
            "windows": s.window_ids,
            "active": s.active,
        }
        for s in rows
    ]


@router.get("/admin/staff", response_model=None)
async def staff_list(request: Request) -> HTMLResponse:
    ctx = await admin_required(request, "staff")
    if isinstance(ctx, HTMLResponse):
        return ctx
    rows = await run_db(ctx.res.sessions, _staff_rows)
    return _page(
        request,
        "staff.html",
        ctx.base(
            staff=rows,
            roles=[r.value for r in Role],
            error=None,
            done=DONE_MESSAGES.get(request.query_params.get("done", "")),
        ),
    )


@router.post("/admin/staff", response_model=None)
async def staff_add(request: Request) -> Response:
    ctx = await admin_required(request, "staff")
    if isinstance(ctx, HTMLResponse):
        return ctx
    form = await _form_checked(request, ctx)
    if isinstance(form, HTMLResponse):
        return form
    pack = ctx.pack
    if pack is None:
        return _no_pack(request, ctx)
    raw_form = await request.form()
    window_ids = [str(v) for v in raw_form.getlist("windows")]
    try:
        role = Role(form.get("role", "staff"))
    except ValueError:
        role = Role.STAFF
    actor = ctx.actor

    def add(session: Session) -> None:
        staff = accounts.create_staff(
            session,
            login=form.get("login", "").strip(),
            password=form.get("password", ""),
            window_ids=window_ids,
            valid_windows=[w.id for w in pack.windows],
            pack=ctx.res.settings.intake_pack,
            role=role,
            display_name=form.get("display_name"),
        )
        audit.record(
            session,
            action="staff_add",
            staff_id=actor.staff_id,
            login=actor.login,
            detail={"new_staff_id": staff.id, "role": role.value, "windows": window_ids},
        )

    try:
        await run_db(ctx.res.sessions, add)
    except accounts.AccountError as error:
        rows = await run_db(ctx.res.sessions, _staff_rows)
        return _page(
            request,
            "staff.html",
            ctx.base(staff=rows, roles=[r.value for r in Role], error=error.message, done=None, form=form),
            status_code=422,
        )
    return _redirect("/staff/admin/staff?done=staff_added")


@router.post("/admin/staff/{staff_id}/deactivate", response_model=None)
async def staff_deactivate(request: Request, staff_id: int) -> Response:
    ctx = await admin_required(request, "staff")
    if isinstance(ctx, HTMLResponse):
        return ctx
    form = await _form_checked(request, ctx)
    if isinstance(form, HTMLResponse):
        return form
    if staff_id == ctx.actor.staff_id:
        return refusal(
            request,
            status=409,
            title="この操作はできません",
            message="自分のログインは止められません。",
            actor=ctx.actor,
            session=ctx.session,
        )
    actor = ctx.actor

    def deactivate(session: Session) -> bool:
        staff = session.get(StaffUser, staff_id)
        if staff is None:
            return False
        staff.active = False
        audit.record(
            session,
            action="staff_deactivate",
            staff_id=actor.staff_id,
            login=actor.login,
            detail={"target": staff_id},
        )
        return True

    if not await run_db(ctx.res.sessions, deactivate):
        return refusal(
            request,
            status=404,
            title="見つかりません",
            message="その職員は見つかりません。",
            actor=ctx.actor,
            session=ctx.session,
        )
    return _redirect("/staff/admin/staff?done=staff_deactivated")


def _period(since: str | None, until: str | None) -> tuple[date, date]:
    today = datetime.now(JST).date()
    try:
        end = date.fromisoformat(until) if until else today
    except ValueError:
        end = today
    try:
        start = date.fromisoformat(since) if since else end - timedelta(days=29)
    except ValueError:
        start = end - timedelta(days=29)
    if start > end:
        start, end = end, start
    return start, end


def jst_day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00 JST, the day after end 00:00 JST) in UTC."""
    since = datetime.combine(start, datetime.min.time(), JST).astimezone(UTC)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), JST).astimezone(UTC)
    return since, until


@router.get("/admin/metrics", response_model=None)
async def metrics_page(request: Request, since: str | None = None, until: str | None = None) -> HTMLResponse:
    ctx = await admin_required(request, "metrics")
    if isinstance(ctx, HTMLResponse):
        return ctx
    start, end = _period(since, until)
    lo, hi = jst_day_bounds(start, end)
    pack = ctx.pack
    actor = ctx.actor

    def work(session: Session) -> metrics.Metrics:
        audit.record(
            session,
            action="metrics",
            staff_id=actor.staff_id,
            login=actor.login,
            detail={"since": str(start), "until": str(end)},
        )
        return metrics.compute(session, since=lo, until=hi, pack=pack)

    result = await run_db(ctx.res.sessions, work)
    return _page(request, "metrics.html", ctx.base(m=result, start=start, end=end))


@router.get("/admin/knowledge", response_model=None)
async def knowledge_page(request: Request) -> HTMLResponse:
    ctx = await admin_required(request, "knowledge")
    if isinstance(ctx, HTMLResponse):
        return ctx
    return _page(request, "knowledge.html", ctx.base(result=None, version=_version(ctx.res)))


def _version(res: Resources) -> str | None:
    if res.knowledge is None:
        return None
    return str(getattr(res.knowledge.current, "version", "") or "")


@router.post("/admin/knowledge", response_model=None)
async def knowledge_publish(request: Request) -> HTMLResponse:
    ctx = await admin_required(request, "knowledge")
    if isinstance(ctx, HTMLResponse):
        return ctx
    form = await _form_checked(request, ctx)
    if isinstance(form, HTMLResponse):
        return form
    if ctx.res.knowledge is None:
        return _no_pack(request, ctx)
    before = _version(ctx.res)
    # reload() reads and checks every file and builds the triager: off the event loop.
    outcome = await run_in_threadpool(ctx.res.knowledge.reload)
    if inspect.isawaitable(outcome):
        outcome = await outcome
    problems = [str(p) for p in getattr(outcome, "problems", [])]
    ok = bool(getattr(outcome, "ok", False))
    actor = ctx.actor
    await run_db(
        ctx.res.sessions,
        lambda s: audit.record(
            s,
            action="knowledge_publish",
            staff_id=actor.staff_id,
            login=actor.login,
            allowed=ok,
            detail={
                "before": before,
                "version": getattr(outcome, "version", None),
                "problems": len(problems),
            },
        ),
    )
    return _page(
        request,
        "knowledge.html",
        ctx.base(result={"ok": ok, "problems": problems, "before": before}, version=_version(ctx.res)),
        status_code=200 if ok else 422,
    )
