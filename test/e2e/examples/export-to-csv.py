import requests
import csv

access_token = "YOUR_ACCESS_TOKEN"

response = requests.get(
    "https://app.sipsim.com/api/v2/calls",
    headers={"Authorization": f"Bearer {access_token}"},
    params={
        "start_time": "2024-01-01T00:00:00Z",
        "end_time": "2024-01-31T23:59:59Z",
        "limit": 1000
    }
)
calls = response.json()["data"]

with open("calls_export.csv", "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=[
        "id", "call_type", "sip_status", "caller_number",
        "target_number", "duration_sec", "start_time", "answered"
    ])
    writer.writeheader()
    for call in calls:
        writer.writerow({
            "id": call["id"],
            "call_type": call["call_type"],
            "sip_status": call["sip_status"],
            "caller_number": call["caller_number"],
            "target_number": call["target_number"],
            "duration_sec": call["duration_sec"],
            "start_time": call["start_time"],
            "answered": call["answered"]
        })

print(f"Exported {len(calls)} calls to calls_export.csv")
