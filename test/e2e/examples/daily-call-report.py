import requests
from datetime import datetime, timedelta
from collections import Counter

access_token = "YOUR_ACCESS_TOKEN"

# Yesterday's calls
yesterday = datetime.utcnow().date() - timedelta(days=1)
start_time = datetime.combine(yesterday, datetime.min.time())
end_time = datetime.combine(yesterday, datetime.max.time())

response = requests.get(
    "https://app.sipsim.com/api/v2/calls",
    headers={"Authorization": f"Bearer {access_token}"},
    params={
        "start_time": start_time.isoformat() + "Z",
        "end_time": end_time.isoformat() + "Z",
        "limit": 1000
    }
)
calls = response.json()["data"]

# Analyze
call_types = Counter(c["call_type"] for c in calls)
total_duration = sum(c["duration_sec"] or 0 for c in calls)

print(f"=== Call Report for {yesterday} ===")
print(f"Total calls: {len(calls)}")
print(f" Inbound: {call_types['inbound']}")
print(f" Outbound: {call_types['outbound']}")
print(f" Missed: {call_types['missed']}")
print(f" Voicemail: {call_types['voicemail']}")
print(f"Total talk time: {total_duration // 60} minutes")
