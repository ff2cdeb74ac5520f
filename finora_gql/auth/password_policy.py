"""What makes a password acceptable: length over composition rules (NIST SP 800-63B)."""

from __future__ import annotations

from finora_gql.core.errors import ErrorCode, ServiceError

MIN_LENGTH = 10
MAX_LENGTH = 128

# The most common passwords of at least MIN_LENGTH characters in public breach corpora.
COMMON = frozenset(
    """
    1234567890 0123456789 1111111111 0000000000 1q2w3e4r5t qwertyuiop 123456789a 987654321a
    password12 password123 password1234 passw0rd123 iloveyou12 princess12 sunshine12 football12
    baseball12 welcome123 qwerty1234 qwerty12345 1qaz2wsx3edc zaq12wsxcde abcdefghij abc1234567
    letmein123 trustno1234 dragon1234 monkey1234 master1234 superman12 starwars12 computer12
    administrator changeme123 asdfghjkl1 zxcvbnm123 1234qwerty qazwsxedcr aa12345678 finora1234
    """.split()
)


def check_password(password: str, *, email: str | None = None, field: str = "password") -> None:
    def weak(message: str) -> ServiceError:
        return ServiceError(ErrorCode.PASSWORD_TOO_WEAK, message, field)

    if len(password) < MIN_LENGTH:
        raise weak(f"Use at least {MIN_LENGTH} characters; a short phrase of several words works well.")
    if len(password) > MAX_LENGTH:
        raise weak(f"Use at most {MAX_LENGTH} characters.")
    if len(set(password)) < 4:
        raise weak("Use more than a few different characters.")
    if password.lower() in COMMON:
        raise weak("This password is one of the most common ones; choose another.")
    if email:
        local = email.split("@", 1)[0].lower()
        if len(local) >= 4 and local in password.lower():
            raise weak("Don't use your email address in your password.")
