"""Login, logout, own account and password; user administration for admins."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from app import uow
from app.args import page_arg
from app.auth import devices, factors, passkeys, policy, recovery, services, stepup, totp
from app.auth.forms import (
    ChangePasswordForm,
    LoginForm,
    NewUserForm,
    RecoveryCodeForm,
    SecondFactorForm,
    SetActiveForm,
    StepUpForm,
    TotpConfirmForm,
    TotpDisableForm,
    UserForm,
    role_choices,
)
from app.auth.login import public, safe_next
from app.auth.models import Passkey, User, UserSession
from app.authz import authorize, authorize_hidden
from app.extensions import db, limiter
from app.forms import ActionForm, require_action_form
from app.htmx import render

bp = Blueprint("auth", __name__)


# ---------------------------------------------------------------- login throttling
#
# Guessing is throttled tightly per account and address, loosely per account (many
# addresses) and per address (many accounts); each counts failed attempts only. An attempt
# from a device that has signed in to the account before (a valid device cookie, see
# app/auth/devices.py) counts against that device's own limit instead, so an attacker who
# exhausts the account's limits from elsewhere cannot lock its owner out of her own phone.


def _login_username() -> str:
    return services.normalise_username(request.form.get("username", ""))[:60]


def _device_nonce() -> str | None:
    return devices.trusted_nonce(_login_username())


def _from_trusted_device() -> bool:
    return _device_nonce() is not None


def _from_untrusted_device() -> bool:
    return _device_nonce() is None


def _account_address_key() -> str:
    return f"login-account-address:{_login_username()}:{request.remote_addr or '-'}"


def _account_key() -> str:
    return "login-account:" + _login_username()


def _device_key() -> str:
    return f"login-device:{_device_nonce()}"


def _login_failed(response) -> bool:
    return bool(g.get("login_failed"))


#: What a throttled sign-in is told, by the limit it ran into.
THROTTLED_MESSAGES = {
    "account": _l(
        "Too many failed sign-ins to this account. For its safety, sign-in from this device "
        "is paused for a few minutes. A phone you have signed in with before can still sign "
        "in; or ask your supervisor or administrator."
    ),
    "device": _l(
        "Too many wrong passwords on this device. Wait a few minutes, then try again; or ask "
        "your administrator for a temporary password."
    ),
    "address": _l(
        "Too many failed sign-ins from this network. Wait a few minutes, then try again."
    ),
}


def _throttled(which: str, message: str) -> Callable:
    """on_breach: audit the refused attempt (naming the limit), and answer with the login
    page saying why and what to do."""

    def breach(limit) -> Response:
        uow.commit(lambda: services.record_throttled_login(request.form.get("username", ""), which))
        next_url = safe_next(request.values.get("next"), url_for("main.home"))
        page = render_template(
            "auth/login.html",
            form=LoginForm(),
            error=THROTTLED_MESSAGES[message],
            next_url=next_url,
            error_title=_("Too many attempts"),
        )
        return make_response(page, 429)

    return breach


def _fresh_cookie_session() -> None:
    """Drop everything in the cookie session but the language (no fixation across logins)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _sign_in(username: str, password: str) -> User | None:
    """Check the password (a failure is audited). A user with a second factor gets a pending
    login that signs nobody in until the second step; anyone else is signed in now."""
    user = services.authenticate(username, password)
    if user is None:
        g.login_failed = True  # counts towards the guessing limits
        return None
    chosen_here = session.pop("lang_chosen_signed_out", False)
    _fresh_cookie_session()
    if factors.has_second_factor(user):
        session["sid"] = services.start_session(
            user,
            user_agent=request.headers.get("User-Agent", ""),
            ip=request.remote_addr or "",
            pending=True,
        )
        session["pending_user"] = user.id  # names the second step's throttle, nothing more
        if chosen_here:
            session["lang_chosen_signed_out"] = True
        session.permanent = True
        g.pending_second_factor = True
        return user
    token = services.start_session(
        user, user_agent=request.headers.get("User-Agent", ""), ip=request.remote_addr or ""
    )
    _signed_in(user, token, chosen_here)
    return user


def _signed_in(user: User, token: str, chosen_here: bool) -> None:
    """Put a full session's token in the cookie and tell Flask-Login."""
    session["sid"] = token
    session.pop("pending_user", None)
    session.permanent = True
    login_user(user)
    if session.get("lang") and (chosen_here or not user.locale):
        # a language picked on the sign-in page is the one this person wants now
        user.locale = session["lang"]


def _after_sign_in(user: User, next_url: str) -> Response:
    target = url_for("auth.change_password") if user.must_change_password else next_url
    response = redirect(target, code=303)
    devices.remember(response, user.username)  # this device may sign in to it again
    return response


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ACCOUNT_ADDRESS"],
    key_func=_account_address_key,
    methods=["POST"],
    scope="login-account-address",
    deduct_when=_login_failed,
    exempt_when=_from_trusted_device,
    on_breach=_throttled("account_address", "account"),
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    scope="login-account",
    deduct_when=_login_failed,
    exempt_when=_from_trusted_device,
    on_breach=_throttled("account", "account"),
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ADDRESS"],
    methods=["POST"],
    scope="login-address",
    deduct_when=_login_failed,
    exempt_when=_from_trusted_device,
    on_breach=_throttled("address", "address"),
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_DEVICE"],
    key_func=_device_key,
    methods=["POST"],
    scope="login-device",
    deduct_when=_login_failed,
    exempt_when=_from_untrusted_device,
    on_breach=_throttled("device", "device"),
)
def login():
    """Sign in with username and password; comes back to ?next= afterwards."""
    next_url = safe_next(request.values.get("next"), url_for("main.home"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    user = error = None
    if form.validate_on_submit():
        user = uow.commit(lambda: _sign_in(form.username.data, form.password.data))
        error = None if user else _("The username or password is not correct.")
    if user is not None and g.get("pending_second_factor"):
        return redirect(url_for("auth.second_factor", next=next_url), code=303)
    if user is not None:
        return _after_sign_in(user, next_url)
    return render_template(
        "auth/login.html",
        form=form,
        error=error,
        next_url=next_url,
        passkeys_on=passkeys.relying_party() is not None,
    )


def _pending_key() -> str:
    return f"second-factor:{session.get('pending_user', '-')}"


def _second_factor_throttled(limit) -> Response:
    uow.commit(lambda: services.record_throttled_login("", "second_factor"))
    return make_response(
        render_template(
            "auth/second_factor.html",
            form=SecondFactorForm(),
            next_url=safe_next(request.values.get("next"), url_for("main.home")),
            expired=False,
            has_totp=True,
            has_passkey=False,
            passkeys_on=False,
            error=_("Too many wrong codes. Wait a few minutes, then try again."),
        ),
        429,
    )


@bp.route("/login/second-factor", methods=["GET", "POST"])
@public
@limiter.limit(
    "5 per 5 minutes",
    key_func=_pending_key,
    methods=["POST"],
    scope="second-factor",
    deduct_when=_login_failed,
    on_breach=_second_factor_throttled,
)
def second_factor():
    """The sign-in's second step: a code from the authenticator app, a recovery code or a
    passkey, within five minutes of the password."""
    next_url = safe_next(request.values.get("next"), url_for("main.home"))
    if current_user.is_authenticated:
        return redirect(next_url)
    row = factors.pending_login(session.get("sid"))
    if db.session.dirty:
        uow.commit(lambda: None)  # an expired pending login marked so
    form = SecondFactorForm()
    if row is None:
        return render_template(
            "auth/second_factor.html", form=form, next_url=next_url, expired=True
        )
    user = row.user

    def prove() -> User:
        try:
            method = factors.prove_second_factor(
                user, code=form.code.data or "", recovery_code=form.recovery_code.data or ""
            )
        except services.AuthError:
            g.login_failed = True  # counts towards the second step's limit
            raise
        chosen_here = session.pop("lang_chosen_signed_out", False)
        _signed_in(user, services.complete_session(row, second_factor=method), chosen_here)
        return user

    return uow.form_page(
        form,
        prove,
        field=lambda exc: exc.field,
        then=lambda user: _after_sign_in(user, next_url),
        page=lambda: render_template(
            "auth/second_factor.html",
            form=form,
            next_url=next_url,
            expired=False,
            has_totp=totp.is_enrolled(user),
            has_passkey=passkeys.has_passkey(user),
            passkeys_on=passkeys.relying_party() is not None,
        ),
    )


# ---------------------------------------------------------------- passkey ceremonies
#
# The browser (static/js/passkeys.js) asks for options, runs navigator.credentials, and posts
# the answer as JSON. A failed ceremony answers 200 with ok=false and a message: the page
# shows it and stays; a success answers with where to go next.


@bp.app_template_global("passkey_texts")
def passkey_texts() -> dict[str, str]:
    """What static/js/passkeys.js says when a ceremony does not happen (in the page's language)."""
    return {
        "unsupported": _("This browser cannot use passkeys. Use your password instead."),
        "cancelled": _("The passkey was not used (cancelled or timed out). Try again."),
        "failed": _("The passkey could not be checked. Try again."),
        "name": _("Give the passkey a name."),
        "network": _("No connection to the server. Try again when you are online."),
    }


def _passkey_failed(exc: services.AuthError) -> Response:
    return jsonify(ok=False, message=str(exc.message))


def _relying_party() -> passkeys.RelyingParty:
    rp = passkeys.relying_party()
    if rp is None:
        abort(404)  # passkeys need the app's public address (BASE_URL)
    return rp


def _options(purpose: str, user: User | None) -> Response:
    rp = _relying_party()
    handle, options = uow.commit(lambda: passkeys.authentication_options(purpose, rp, user))
    session["webauthn"] = handle
    return jsonify(ok=True, publicKey=options)


def _credential() -> dict:
    body = request.get_json(silent=True)
    credential = body.get("credential") if isinstance(body, dict) else None
    return credential if isinstance(credential, dict) else {}


@bp.post("/login/passkey/options")
@public
@limiter.limit("30 per 5 minutes", methods=["POST"], scope="passkey-options")
def passkey_sign_in_options():
    """Options for signing in with a passkey: any of this site's (discoverable), or the
    pending login's own passkeys at the second step."""
    if current_user.is_authenticated:
        return jsonify(ok=False, redirect=url_for("main.home"))
    row = factors.pending_login(session.get("sid"))
    return _options("sign_in", row.user if row else None)


@bp.post("/login/passkey")
@public
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ADDRESS"],
    methods=["POST"],
    scope="login-passkey",
    deduct_when=_login_failed,
)
def passkey_sign_in():
    """Sign in with a passkey (both factors at once), or finish a pending sign-in with one."""
    next_url = safe_next(request.values.get("next"), url_for("main.home"))
    if current_user.is_authenticated:
        return jsonify(ok=True, redirect=next_url)
    rp = _relying_party()
    row = factors.pending_login(session.get("sid"))
    handle = session.pop("webauthn", None)
    credential = _credential()

    def sign_in() -> User:
        passkey = factors.passkey_check(
            "sign_in", rp, handle=handle, credential=credential, user=row.user if row else None
        )
        user = passkey.user if row is None else row.user
        if row is not None:
            token = services.complete_session(row, second_factor="passkey")
        elif not services.may_sign_in(user):
            raise services.AuthError("passkey_failed", keep_record=True)
        else:
            token = services.start_session(
                user,
                user_agent=request.headers.get("User-Agent", ""),
                ip=request.remote_addr or "",
                second_factor="passkey",
            )
        chosen_here = session.pop("lang_chosen_signed_out", False)
        if row is None:
            _fresh_cookie_session()
        _signed_in(user, token, chosen_here)
        return user

    try:
        user = uow.commit(sign_in)
    except services.AuthError as exc:
        g.login_failed = True
        return _passkey_failed(exc)
    response = _after_sign_in(user, next_url)
    return_to = response.headers["Location"]
    answer = jsonify(ok=True, redirect=return_to)
    for cookie in response.headers.getlist("Set-Cookie"):
        answer.headers.add("Set-Cookie", cookie)
    return answer


def _sign_out() -> None:
    row = g.get("user_session")
    if row is not None:
        services.end_session(row, user=current_user)
    logout_user()
    _fresh_cookie_session()


@bp.post("/logout")
def logout():
    """Sign out: the server-side session is revoked, so the old cookie is dead."""
    response = make_response(
        uow.action(_sign_out, back=url_for("auth.login"), success=_("You have signed out."))
    )
    # Clears the HTTP cache only: queued offline work in IndexedDB must survive a logout.
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.get("/account")
def account():
    """The 'more' page: profile, language, sessions, password, sign out."""
    sessions = services.live_sessions(current_user)
    return render_template(
        "auth/account.html", sessions=sessions, form=ActionForm(), current=g.get("user_session")
    )


@bp.post("/account/sessions/<int:session_id>/revoke")
def revoke_own_session(session_id: int):
    """End one of my own sessions (another phone, a lost device)."""
    row = db.get_or_404(UserSession, session_id)
    authorize(policy.can_revoke_session(current_user, row.user), hide=True)
    require_action_form()
    return uow.action(
        lambda: services.revoke_session(row, actor=current_user),
        back=url_for("auth.account"),
        success=_("The session has been ended."),
    )


def _own_account_key() -> str:
    return (
        f"password-check:{current_user.id}" if current_user.is_authenticated else "password-check:-"
    )


def _change_password(form: ChangePasswordForm) -> None:
    try:
        services.change_own_password(
            current_user,
            current_password=form.current_password.data,
            new_password=form.new_password.data,
            session_row=g.get("user_session"),
        )
    except services.AuthError as exc:
        g.login_failed = exc.key == "wrong_current"  # counts towards the guessing limit
        raise


@bp.route("/account/password", methods=["GET", "POST"])
@limiter.limit(
    "5 per 15 minutes", key_func=_own_account_key, methods=["POST"], deduct_when=_login_failed
)
def change_password():
    """Change my own password; my other sessions end."""
    authorize(policy.can_change_own_password(current_user))
    form = ChangePasswordForm()
    return uow.form_page(
        form,
        lambda: _change_password(form),
        field=lambda exc: (
            form.current_password if exc.key == "wrong_current" else form.new_password
        ),
        then=lambda _none: uow.see_other(
            url_for("main.home"),
            _("Your password has been changed. Other devices have been signed out."),
        ),
        page=lambda: render_template("auth/change_password.html", form=form),
    )


@bp.route("/account/step-up", methods=["GET", "POST"])
@limiter.limit(
    "5 per 15 minutes", key_func=_own_account_key, methods=["POST"], deduct_when=_login_failed
)
def step_up():
    """Confirm it is me before a restricted value is shown; back to `next` afterwards. A
    passkey first where I have one; else the password (and my TOTP code where I have one);
    or a recovery code."""
    authorize(policy.can_step_up(current_user))
    back = safe_next(request.values.get("next"), url_for("main.home"))
    sent = RecoveryCodeForm()
    use_recovery = request.method == "POST" and bool(sent.recovery_code.raw_data)
    form = StepUpForm() if not use_recovery else StepUpForm(formdata=None)
    recovery_form = sent if use_recovery else RecoveryCodeForm(formdata=None)
    has_totp = totp.is_enrolled(current_user)

    def prove() -> None:
        try:
            if use_recovery:
                factors.step_up_with_recovery_code(current_user, recovery_form.recovery_code.data)
            else:
                services.step_up_with_password(current_user, form.password.data, form.code.data)
        except services.AuthError as exc:
            g.login_failed = True  # counts towards the guessing limit
            raise exc

    def page() -> str:
        return render_template(
            "auth/step_up.html",
            form=form,
            recovery_form=recovery_form,
            back=back,
            fresh=stepup.is_fresh(),
            minutes=int(stepup.window().total_seconds() // 60),
            has_totp=has_totp,
            has_passkey=passkeys.has_passkey(current_user),
            passkeys_on=passkeys.relying_party() is not None,
            has_recovery=recovery.remaining(current_user) > 0,
            show_recovery=use_recovery,
        )

    return uow.form_page(
        recovery_form if use_recovery else form,
        prove,
        field=lambda exc: exc.field,
        then=lambda _none: uow.see_other(
            back, _("Confirmed. You can open restricted values for the next few minutes.")
        ),
        page=page,
    )


@bp.post("/account/step-up/passkey/options")
def step_up_passkey_options():
    """Options for confirming it is me with one of my passkeys."""
    authorize(policy.can_step_up(current_user))
    return _options("step_up", current_user)


@bp.post("/account/step-up/passkey")
@limiter.limit(
    "5 per 15 minutes", key_func=_own_account_key, methods=["POST"], deduct_when=_login_failed
)
def step_up_passkey():
    """Confirm it is me with a passkey; JSON with where to go back to."""
    authorize(policy.can_step_up(current_user))
    back = safe_next(request.values.get("next"), url_for("main.home"))
    rp = _relying_party()
    handle = session.pop("webauthn", None)
    credential = _credential()
    try:
        uow.commit(
            lambda: factors.step_up_with_passkey(
                current_user, rp, handle=handle, credential=credential
            )
        )
    except services.AuthError as exc:
        g.login_failed = True
        return _passkey_failed(exc)
    flash(_("Confirmed. You can open restricted values for the next few minutes."), "success")
    return jsonify(ok=True, redirect=back)


# ---------------------------------------------------------------- second factors


def _security_page(**extra) -> str:
    user = current_user
    credential = totp.credential_of(user)
    return render_template(
        "auth/security.html",
        has_totp=credential is not None and credential.confirmed_at is not None,
        passkey_list=passkeys.passkeys_of(user),
        passkeys_on=passkeys.relying_party() is not None,
        recovery_left=recovery.remaining(user),
        required=factors.is_required(user),
        action=ActionForm(),
        disable_form=extra.pop("disable_form", None) or TotpDisableForm(formdata=None),
        **extra,
    )


@bp.get("/account/security")
def security():
    """Second factors: the authenticator app, passkeys and recovery codes."""
    authorize(policy.can_manage_second_factors(current_user))
    return _security_page()


@bp.route("/account/security/totp", methods=["GET", "POST"])
@limiter.limit(
    "10 per 15 minutes", key_func=_own_account_key, methods=["POST"], deduct_when=_login_failed
)
def totp_enrol():
    """Set up an authenticator app: scan the QR code, type the first code; the recovery codes
    are then shown once."""
    authorize(policy.can_manage_second_factors(current_user))
    if totp.is_enrolled(current_user):
        return redirect(url_for("auth.security"))
    _credential_row, secret = uow.commit(lambda: totp.start_enrolment(current_user))
    form = TotpConfirmForm()

    def confirm() -> list[str]:
        try:
            return factors.confirm_totp(current_user, form.code.data)
        except services.AuthError:
            g.login_failed = True
            raise

    uri = totp.provisioning_uri(current_user, secret)
    return uow.form_page(
        form,
        confirm,
        field=form.code,
        then=lambda codes: render_template("auth/recovery_codes.html", codes=codes, first=True),
        page=lambda: render_template(
            "auth/totp_enrol.html",
            form=form,
            secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            qr=totp.qr_data_uri(uri),
        ),
    )


@bp.post("/account/security/totp/disable")
@limiter.limit(
    "5 per 15 minutes", key_func=_own_account_key, methods=["POST"], deduct_when=_login_failed
)
def totp_disable():
    """Remove the authenticator app (password and a current code)."""
    authorize(policy.can_manage_second_factors(current_user))
    form = TotpDisableForm()

    def disable() -> None:
        try:
            factors.disable_totp(current_user, password=form.password.data, code=form.code.data)
        except services.AuthError as exc:
            g.login_failed = exc.key in ("wrong_password", "wrong_code")
            raise

    return uow.action(
        disable,
        form=form,
        back=url_for("auth.security"),
        success=_("The authenticator app has been removed."),
    )


@bp.post("/account/security/recovery-codes")
def recovery_codes():
    """A new set of recovery codes (the old ones stop working), after a fresh step-up."""
    authorize(policy.can_manage_second_factors(current_user))
    require_action_form()
    if not stepup.is_fresh():
        return redirect(stepup.url(url_for("auth.security")), code=303)
    codes = uow.commit(lambda: factors.regenerate_recovery_codes(current_user))
    # Rendered, not flashed or redirected: the codes are shown on this response only.
    return render_template("auth/recovery_codes.html", codes=codes, first=False)


@bp.post("/account/passkeys/options")
def passkey_register_options():
    """Options for creating a passkey for my account."""
    authorize(policy.can_manage_second_factors(current_user))
    rp = _relying_party()
    handle, options = uow.commit(lambda: passkeys.registration_options(current_user, rp))
    session["webauthn"] = handle
    return jsonify(ok=True, publicKey=options)


@bp.post("/account/passkeys")
def passkey_register():
    """Keep the passkey the browser made, under the name given; JSON."""
    authorize(policy.can_manage_second_factors(current_user))
    rp = _relying_party()
    body = request.get_json(silent=True)
    name = body.get("name") if isinstance(body, dict) else ""
    handle = session.pop("webauthn", None)
    credential = _credential()
    try:
        uow.commit(
            lambda: factors.add_passkey(
                current_user, rp, handle=handle, credential=credential, name=str(name or "")
            )
        )
    except services.AuthError as exc:
        return _passkey_failed(exc)
    flash(_("The passkey has been added."), "success")
    return jsonify(ok=True, redirect=url_for("auth.security"))


@bp.post("/account/passkeys/<int:passkey_id>/remove")
def passkey_remove(passkey_id: int):
    """Remove one of my passkeys."""
    authorize(policy.can_manage_second_factors(current_user))
    passkey = db.get_or_404(Passkey, passkey_id)
    allowed = policy.can_remove_passkey(current_user, passkey)
    authorize_hidden(allowed, target=f"passkey:{passkey.id}")
    require_action_form()
    return uow.action(
        lambda: factors.remove_passkey(current_user, passkey),
        back=url_for("auth.security"),
        success=_("The passkey has been removed."),
    )


# ---------------------------------------------------------------- administration


#: Panels other features add to an administered user's page: each takes the user and returns
#: its HTML ("" for none). `sites` adds the user's site assignments; `auth` knows no sites.
USER_PAGE_PANELS: list[Callable[[User], str]] = []
#: Where a client user's choice of client comes from: (id, name) pairs, registered by `sites`.
CLIENT_CHOICES: list[Callable[[], list[tuple[int, str]]]] = []


def _client_choices():
    clients = [pair for source in CLIENT_CHOICES for pair in source()]
    return [("", _("— none —"))] + [(str(client_id), name) for client_id, name in clients]


def _user_values(form: UserForm) -> dict:
    return {
        "display_name": form.display_name.data,
        "role": form.role.data,
        "client_id": int(form.client_id.data) if form.client_id.data else None,
        "email": form.email.data,
    }


def _prepare(form: UserForm) -> UserForm:
    form.role.choices = role_choices()
    form.client_id.choices = _client_choices()
    return form


@bp.get("/admin/users")
def users():
    """All users, searchable and filtered by role and status."""
    authorize(policy.can_manage_users(current_user))
    page = services.list_users(
        q=request.args.get("q", "")[:60],
        role=request.args.get("role", ""),
        active=request.args.get("active", ""),
        page=page_arg(),
        per_page=current_app.config["PAGE_SIZE"],
    )
    return render("auth/users.html", "auth/_user_list.html", page=page, roles=role_choices())


@bp.route("/admin/users/new", methods=["GET", "POST"])
def user_new():
    """Create a user with a first password that must be changed."""
    authorize(policy.can_manage_users(current_user))
    form = _prepare(NewUserForm())
    return uow.form_page(
        form,
        lambda: services.create_user(
            actor=current_user,
            username=form.username.data,
            password=form.password.data,
            **_user_values(form),
        ),
        field=lambda exc: form.username if exc.key == "username_taken" else form.password,
        then=lambda user: uow.see_other(
            url_for("auth.user_edit", user_id=user.id),
            _("User %(name)s has been created.", name=user.username),
        ),
        page=lambda: render_template("auth/user_new.html", form=form),
    )


def _user_page(user: User, form: UserForm, status: int = 200, temporary: str | None = None):
    return (
        render_template(
            "auth/user.html",
            user=user,
            form=form,
            action=ActionForm(),
            sessions=services.live_sessions(user),
            panels=[Markup(panel(user)) for panel in USER_PAGE_PANELS],  # noqa: S704 (templates)
            temporary=temporary,
        ),
        status,
    )


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):
    """One user: name, role, client, sites, sessions, password reset, deactivation."""
    authorize(policy.can_manage_users(current_user))
    user = db.get_or_404(User, user_id)
    form = _prepare(UserForm(obj=None if request.method == "POST" else user))
    if request.method == "GET":
        form.client_id.data = str(user.client_id or "")
    return uow.form_page(
        form,
        lambda: services.update_user(user, actor=current_user, **_user_values(form)),
        field=form.role,
        then=lambda _none: uow.see_other(
            url_for("auth.user_edit", user_id=user.id), _("Changes saved.")
        ),
        page=lambda: _user_page(user, form)[0],
    )


def _admin_action(user_id: int) -> User:
    authorize(policy.can_manage_users(current_user))
    user = db.get_or_404(User, user_id)
    require_action_form()
    return user


def _user_url(user: User) -> str:
    return url_for("auth.user_edit", user_id=user.id)


@bp.post("/admin/users/<int:user_id>/active")
def user_set_active(user_id: int):
    """Deactivate (all sessions end at once) or reactivate a user."""
    user = _admin_action(user_id)
    form = SetActiveForm()
    make_active = form.active.data == "1"
    return uow.action(
        lambda: services.set_active(user, actor=current_user, is_active=make_active),
        form=form,
        back=_user_url(user),
        success=_("User reactivated.") if make_active else _("User deactivated."),
    )


@bp.post("/admin/users/<int:user_id>/reset-password")
def user_reset_password(user_id: int):
    """Issue a temporary password, shown once on this response and never again."""
    user = _admin_action(user_id)
    temporary = uow.commit(lambda: services.reset_password(user, actor=current_user))
    # Rendered, not flashed: a flash would carry the password in the cookie.
    return _user_page(user, _prepare(UserForm(obj=user)), temporary=temporary)


@bp.post("/admin/users/<int:user_id>/sessions/<int:session_id>/revoke")
def user_revoke_session(user_id: int, session_id: int):
    """End one session of a user."""
    user = _admin_action(user_id)
    row = db.get_or_404(UserSession, session_id)
    if row.user_id != user.id:
        abort(404)
    return uow.action(
        lambda: services.revoke_session(row, actor=current_user),
        back=_user_url(user),
        success=_("The session has been ended."),
    )


@bp.post("/admin/users/<int:user_id>/sessions/revoke-all")
def user_revoke_all(user_id: int):
    """End every session of a user."""
    user = _admin_action(user_id)
    return uow.action(
        lambda: services.revoke_all_sessions(user, actor=current_user),
        back=_user_url(user),
        success=_("All sessions of this user have been ended."),
    )
