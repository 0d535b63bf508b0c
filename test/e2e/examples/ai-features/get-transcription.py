import requests
import time

access_token = "YOUR_ACCESS_TOKEN"
call_id = "12345"

def get_transcription_with_polling(call_id, max_wait=120):
    """Get transcription, polling until ready."""
    start_time = time.time()
    while time.time() - start_time < max_wait:
        response = requests.get(
            f"https://app.sipsim.com/api/v2/calls/{call_id}/transcription",
            headers={"Authorization": f"Bearer {access_token}"}
        )
        if response.status_code == 200:
            transcription = response.json()["data"]
            if transcription.get("speech_state") == "speech_recognized":
                return transcription
        print("Transcription still processing...")
        time.sleep(5)  # Wait 5 seconds before polling again
    raise TimeoutError("Transcription not ready within timeout")
