# Not from the Calls guide: the Authentication page's token request and the
# "Your first API call" page's account request, as documented, followed by a
# walk through every page of the call history.
import json
import requests

response = requests.post(
    'https://app.sipsim.com/oauth/token',
    data={
        'grant_type': 'client_credentials',
        'client_id': 'YOUR_CLIENT_ID',
        'client_secret': 'YOUR_CLIENT_SECRET',
        'scope': 'account.read calls.read'
    }
)
tokens = response.json()
access_token = tokens['access_token']
print(f"Access Token: {access_token}")
print(f"Token type: {tokens['token_type']}; expires in: {tokens['expires_in']}; scope: {tokens['scope']}")

response = requests.get(
    "https://app.sipsim.com/api/v2/account",
    headers={"Authorization": f"Bearer {access_token}"}
)
data = response.json()
print(f"Connected as: {data['data']['company_name']}")

ids = []
pages = []
params = {
    "start_time": "2000-01-01T00:00:00Z",
    "end_time": "2100-01-01T00:00:00Z",
    "limit": 20
}
while True:
    response = requests.get(
        "https://app.sipsim.com/api/v2/calls",
        headers={"Authorization": f"Bearer {access_token}"},
        params=params
    )
    response.raise_for_status()
    body = response.json()
    ids.extend(call["id"] for call in body["data"])
    pages.append(body["pagination"]["count"])
    if not body["pagination"]["has_more"]:
        break
    params["page"] = body["pagination"]["page"]
print(f"Pages: {json.dumps(pages)}")
print(f"Last pagination: {json.dumps(body['pagination'], sort_keys=True)}")
print(f"Call ids: {json.dumps(ids)}")
