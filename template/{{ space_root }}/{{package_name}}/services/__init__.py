# Owned by the template: `copier update` keeps this file current; don't edit it.
"""One module per service this Space uses; health.py gathers their readiness checks.

A check is `check(settings, timeout)`: it returns when the service is reachable with
valid credentials and raises otherwise. It builds its own short-lived client with
`timeout` and no retries, so a probe never waits on the app's long-lived clients.
"""
