import requests

access_token = "YOUR_ACCESS_TOKEN"
call_id = "12345"
response = requests.post(
    f"https://app.sipsim.com/api/v2/calls/{call_id}/transcription",
    headers={"Authorization": f"Bearer {access_token}"}
)
if response.status_code == 201:
    print("Transcription started!")
else:
    print(f"Error: {response.json()['errors']}")
