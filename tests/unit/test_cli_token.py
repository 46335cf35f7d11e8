from netobs import cli
from query_mcp.auth import tokens
from query_mcp.auth.credentials import TOKENS_FILE


def test_token_add_list_revoke(tmp_path, capsys):
    assert cli.main(["--data-dir", str(tmp_path), "token", "add", "grafana", "--scope", "metrics"]) == 0
    secret = capsys.readouterr().out.strip()
    assert secret.startswith(tokens.TOKEN_PREFIX)
    stored = (tmp_path / TOKENS_FILE).read_text()
    assert secret not in stored and tokens.digest(secret).hex() in stored
    assert cli.main(["--data-dir", str(tmp_path), "token", "list"]) == 0
    listed = capsys.readouterr().out
    assert "grafana\tmetrics\tno expiry" in listed and secret not in listed
    assert cli.main(["--data-dir", str(tmp_path), "token", "revoke", "grafana"]) == 0
    assert cli.main(["--data-dir", str(tmp_path), "token", "revoke", "grafana"]) == 1
    assert cli.main(["--data-dir", str(tmp_path), "token", "add", "x y", "--scope", "metrics"]) == 2
