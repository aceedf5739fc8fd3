"""The browser demo (`intrinsix demo-ui`): a web page that is a client of an IntrinsiX server.

A small Python web process talks gRPC to the server through the Python SDK (`intrinsix_client`)
and serves one static page (static/: plain HTML, JS and a hand-written WebGL 2 viewer, nothing
fetched from elsewhere) plus a JSON/SSE API:

    cli.py            `register(subparsers)`, `run(args)`: the command
    web.py            HTTP routes, guards, Server-Sent Events
    jobs.py           JobBoard / JobView: jobs followed through the SDK, their events and files
    texture_files.py  delivered engine-profile files -> intrinsix.pbr.TextureSet
    png_read.py       PNG decoding (16-bit included)
    display.py        map images and the relit render (pbr.relight_preview, i.e. kernels.shade)

User docs: docs/demo-ui.md. Nothing is imported here, so `cli.register` loads without the SDK.
"""
