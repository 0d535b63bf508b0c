import requests

access_token = "YOUR_ACCESS_TOKEN"

response = requests.get(
    "https://app.sipsim.com/api/v2/calls",
    headers={"Authorization": f"Bearer {access_token}"},
    params={
        "start_time": "2024-01-01T00:00:00Z",
        "limit": 1000
    }
)
calls = response.json()["data"]

long_calls = [c for c in calls if (c["duration_sec"] or 0) > 1800]

print(f"Found {len(long_calls)} calls longer than 30 minutes:")
for call in long_calls:
    minutes = call["duration_sec"] // 60
    print(f" {call['id']}: {minutes} min - {call['caller_number']} -> {call['target_number']}")
