"""The first journey: sign in, see the dashboard, open a case, sign out."""

from riskhub.models.audit import AccessLogEntry


def test_sign_in_dashboard_case_and_sign_out(app, client, auth, people, make):
    reference = make.case(people["idva"], survivor=("Maria", "Lopez", None),
                          contact={"address": "1 Quiet Lane", "phone": "07700 900999"})
    response = auth.login("idva@example.org")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "<h1>Dashboard</h1>" in page
    case_page = client.get(f"/cases/{reference}")
    assert case_page.status_code == 200
    html = case_page.get_data(as_text=True)
    assert "Maria Lopez" in html and "1 Quiet Lane" in html
    with app.app_context():
        from riskhub.extensions import db

        entry = db.session.query(AccessLogEntry).filter_by(action="case.view").one()
        assert entry.case_ref == reference
        assert {"people", "summary", "survivor_contact"} <= set(entry.sections.split(","))
    auth.logout()
    assert client.get("/").status_code == 302


def test_perpetrator_facing_user_never_sees_contact_compartment(app, client, auth, people, make):
    reference = make.case(people["idva"], contact={"address": "SENTINEL-ADDRESS-1", "phone": "07700 900123"},
                          involve=(people["programme_agency"],))
    auth.login("programme@example.org")
    html = client.get(f"/cases/{reference}").get_data(as_text=True)
    assert "SENTINEL-ADDRESS-1" not in html
    assert "Do not disclose to the person causing harm" in html
    with app.app_context():
        from riskhub.extensions import db

        entry = db.session.query(AccessLogEntry).filter_by(action="case.view").one()
        assert "survivor_contact" not in entry.sections


def test_a_model_module_imports_on_its_own_before_the_app() -> None:
    """A script or test may import one model module before anything else: importing it must not
    configure the mappers while other model modules are still missing."""
    import subprocess
    import sys

    code = ("import riskhub.models.assessments, riskhub.models.meetings\n"
            "from riskhub.models.accounts import with_roles\n"
            "from riskhub import create_app\n"
            "print('imported')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"
