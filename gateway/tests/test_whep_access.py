"""Who may open a view: grants, the control plane's redeem, CORS."""

from __future__ import annotations

import aiohttp

from gateway.tests.fakes import ORIGIN, WhepClient, make_grant, running_gateway


async def test_it_refuses_a_forged_grant_without_touching_the_camera() -> None:
    async with running_gateway() as harness:
        client = WhepClient()
        status = await client.connect(harness.url, make_grant(key=b"someone-elses-key"))
        await client.close()
        assert status == 401
        assert harness.camera.opens == 0
        assert harness.control.redeemed == []


async def test_it_refuses_malformed_and_missing_grants() -> None:
    async with running_gateway() as harness:
        for grant in ("v1.garbage", "not-a-grant", make_grant()[:-3] + "AAA"):
            client = WhepClient()
            assert await client.connect(harness.url, grant) == 401
            await client.close()
        async with aiohttp.ClientSession() as http:
            response = await http.post(f"{harness.url}/whep", data="v=0", headers={"Content-Type": "application/sdp"})
            assert response.status == 401
        assert harness.camera.opens == 0


async def test_it_refuses_a_grant_for_another_gateway() -> None:
    async with running_gateway() as harness:
        client = WhepClient()
        assert await client.connect(harness.url, make_grant(gateway="gw-other")) == 401
        await client.close()
        assert harness.camera.opens == 0


async def test_it_refuses_an_expired_grant_with_403() -> None:
    async with running_gateway() as harness:
        client = WhepClient()
        status = await client.connect(harness.url, make_grant(issued_ago_s=120, starts_in_s=-60))
        await client.close()
        assert status == 403
        late = WhepClient()
        assert await late.connect(harness.url, make_grant(issued_ago_s=120, starts_in_s=-60, ends_in_s=-1)) == 403
        await late.close()
        assert harness.camera.opens == 0
        assert harness.control.redeemed == []


async def test_it_refuses_a_reused_grant_with_403_not_409() -> None:
    # WHEP players retry a 409 (a conflict that may pass); a spent grant never will.
    async with running_gateway() as harness:
        grant = make_grant("g-reused")
        first, second = WhepClient(), WhepClient()
        assert await first.connect(harness.url, grant) == 201
        assert await second.connect(harness.url, grant) == 403
        assert second.error == {"error": "grant already used", "code": "grant_refused"}
        await first.close()
        await second.close()
        assert harness.camera.opens == 1


async def test_it_passes_on_a_refusal_as_403_and_opens_no_camera() -> None:
    async with running_gateway() as harness:
        harness.control.redeem_answers["g-refused"] = (403, {"error": "consent withdrawn"})
        harness.control.redeem_answers["g-unknown"] = (404, {"error": "unknown grant"})
        for gid in ("g-refused", "g-unknown"):
            client = WhepClient()
            assert await client.connect(harness.url, make_grant(gid)) == 403
            await client.close()
        assert harness.camera.opens == 0


async def test_it_fails_closed_when_the_control_plane_is_down() -> None:
    async with running_gateway() as harness:
        harness.control.down = True
        client = WhepClient()
        assert await client.connect(harness.url, make_grant()) == 503
        await client.close()
        assert harness.camera.opens == 0
        async with aiohttp.ClientSession() as http:
            assert (await http.get(f"{harness.url}/health")).status == 200  # still alive


async def test_it_answers_502_when_the_camera_is_unreachable() -> None:
    async with running_gateway() as harness:
        harness.camera.unreachable = True
        client = WhepClient()
        assert await client.connect(harness.url, make_grant("g-nocam")) == 502
        await client.close()
        ended = await harness.control.wait_event("ended")
        assert ended["reason"] == "camera_lost" and ended["bytes_sent"] == 0


async def test_it_refuses_an_offer_without_h264_with_406_before_spending_the_grant() -> None:
    async with running_gateway() as harness:
        client = WhepClient()
        sdp = await client.offer_sdp()
        vp8_only = "\r\n".join(line for line in sdp.split("\r\n") if "H264" not in line and "apt=" not in line)
        vp8_only = vp8_only.replace("packetization-mode=1", "")
        assert await client.connect(harness.url, make_grant("g-vp8"), sdp=vp8_only.replace("H264", "XXXX")) == 406
        await client.close()
        assert client.error is not None and "H.264" in client.error["error"]
        assert client.error["code"] == "codec_not_supported"
        assert harness.control.redeemed == []


async def test_it_answers_cors_preflight_only_for_allowed_origins() -> None:
    async with running_gateway() as harness, aiohttp.ClientSession() as http:
        preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
        response = await http.options(f"{harness.url}/whep", headers=preflight)
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
        assert "Location" in response.headers["Access-Control-Expose-Headers"]
        evil = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        response = await http.options(f"{harness.url}/whep", headers=evil)
        assert "Access-Control-Allow-Origin" not in response.headers
        response = await http.post(
            f"{harness.url}/whep",
            data="v=0",
            headers={
                "Origin": "https://evil.example",
                "Authorization": f"Bearer {make_grant()}",
                "Content-Type": "application/sdp",
            },
        )
        assert response.status == 403
        assert harness.camera.opens == 0


async def test_it_exposes_location_to_an_allowed_origin() -> None:
    async with running_gateway() as harness:
        client = WhepClient()
        assert await client.connect(harness.url, make_grant(), origin=ORIGIN) == 201
        assert client.location is not None and client.location.startswith("/whep/sessions/")
        await client.close()


async def test_internal_endpoints_need_the_gateway_token() -> None:
    async with running_gateway() as harness, aiohttp.ClientSession() as http:
        body = {"grant": make_grant(), "rtsp_url": "rtsp://x/y"}
        for path in ("/internal/prepare", "/internal/probe"):
            response = await http.post(f"{harness.url}{path}", json=body, headers={"Authorization": "Bearer wrong"})
            assert response.status == 401
        assert harness.camera.opens == 0


async def test_only_the_grant_holder_can_delete_a_session() -> None:
    async with running_gateway() as harness:
        grant = make_grant()
        client = WhepClient()
        assert await client.connect(harness.url, grant) == 201
        assert await client.delete(harness.url, make_grant()) == 401
        assert await client.delete(harness.url, grant) == 200
        assert await client.delete(harness.url, grant) == 404
        ended = await harness.control.wait_event("ended", client.session_id)
        assert ended["reason"] == "viewer_deleted"  # not "viewer_closed": the viewer said so
        await client.close()
