import requests
from datetime import datetime, timedelta

access_token = "YOUR_ACCESS_TOKEN"

# Get calls from the last 7 days
end_time = datetime.utcnow()
start_time = end_time - timedelta(days=7)

response = requests.get(
    "https://app.sipsim.com/api/v2/calls",
    headers={"Authorization": f"Bearer {access_token}"},
    params={
        "start_time": start_time.isoformat() + "Z",
        "end_time": end_time.isoformat() + "Z",
        "limit": 100
    }
)
data = response.json()
for call in data["data"]:
    print(f"{call['direction']} call: {call['caller_number']} -> {call['receiver_number']}")
