"""Make a self-signed certificate for `make run HTTPS=1` (phones need HTTPS for camera and SW)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def lan_addresses() -> list[str]:
    found = {"127.0.0.1"}
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET address: no packet is sent for UDP connect
            found.add(s.getsockname()[0])
    except OSError:
        pass
    return sorted(found)


def main(folder: str) -> None:
    out = Path(folder)
    cert_path, key_path = out / "dev-cert.pem", out / "dev-key.pem"
    if cert_path.exists() and key_path.exists():
        print(f"certificate: {cert_path} (delete it to make a new one)")
        return
    out.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Guardpost development")])
    now = datetime.datetime.now(datetime.UTC)
    alt = [x509.DNSName("localhost"), x509.DNSName(socket.gethostname())]
    alt += [x509.IPAddress(ipaddress.ip_address(a)) for a in lan_addresses()]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    print(f"certificate for {', '.join(lan_addresses())}: {cert_path}")
    print("Open https://<this computer's address>:5000 on the phone and accept the warning once.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "instance")
